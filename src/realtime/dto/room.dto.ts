import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';

export class RoomDto {
  @IsString()
  @MaxLength(140)
  room!: string;
}

export class UsageRequestDto {
  @IsOptional()
  @MaxLength(128)
  @Matches(/^[A-Za-z0-9._:@-]+$/, {
    message: 'session_id may contain only letters, digits and . _ : @ -',
  })
  session_id?: string;
}
