import { Body, Controller, Get, Post, Query } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, Min, ValidateNested } from 'class-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from './app-error';
import { ProblemDetailsFilter } from './problem-details.filter';
import { genRequestId } from './request-id';
import { createValidationPipe } from './validation.pipe';

class Inner {
  @IsString() name!: string;
}

class SampleBody {
  @IsIn(['pro', 'max5']) plan!: string;
  @IsInt() @Min(0) @Max(23) reset_hour!: number;
  @ValidateNested() @Type(() => Inner) inner!: Inner;
}

class SampleQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) limit?: number;
}

@Controller('sample')
class SampleController {
  @Post()
  create(@Body() body: SampleBody) {
    return body;
  }

  @Get()
  list(@Query() query: SampleQuery) {
    return query;
  }

  @Get('boom')
  boom() {
    throw new Error('database password is hunter2');
  }

  @Get('missing')
  missing() {
    throw new NotFoundError('no budget 7');
  }
}

describe('ProblemDetailsFilter with the validation pipe', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [SampleController] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(
      new FastifyAdapter({ genReqId: genRequestId, bodyLimit: 1024 }),
      { logger: false },
    );
    app.useGlobalPipes(createValidationPipe());
    app.useGlobalFilters(new ProblemDetailsFilter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });
  afterAll(() => app.close());

  it('lists every invalid field, nested and unknown ones included, in one 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/sample',
      headers: { 'x-request-id': 'r-1' },
      payload: { plan: 'gold', reset_hour: 30, inner: { name: 5 }, extra: true },
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    const body = res.json();
    expect(body).toMatchObject({
      type: 'urn:usage-gateway:problem:validation',
      title: 'Invalid request',
      status: 400,
      instance: '/sample',
      request_id: 'r-1',
    });
    const fields = (body.errors as Array<{ field: string }>).map((e) => e.field).sort();
    expect(fields).toEqual(['extra', 'inner.name', 'plan', 'reset_hour']);
    expect(body.detail).toBe('4 request fields are invalid');
  });

  it('validates query parameters the same way', async () => {
    const res = await app.inject({ method: 'GET', url: '/sample?limit=0&x=1' });
    expect(res.statusCode).toBe(400);
    expect((res.json().errors as Array<{ field: string }>).map((e) => e.field).sort()).toEqual([
      'limit',
      'x',
    ]);
  });

  it('answers malformed JSON and oversized bodies with problem details', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/sample',
      headers: { 'content-type': 'application/json' },
      payload: '{"plan": ',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(bad.json()).toMatchObject({ status: 400, title: 'Bad Request' });

    const big = await app.inject({
      method: 'POST',
      url: '/sample',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ plan: 'x'.repeat(4096) }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ status: 413, title: 'Payload Too Large' });
  });

  it('renders an error the code threw to describe itself (app-error.ts)', async () => {
    const res = await app.inject({ method: 'GET', url: '/sample/missing' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'no budget 7',
      instance: '/sample/missing',
    });
  });

  it('hides the internals of unexpected errors', async () => {
    const res = await app.inject({ method: 'GET', url: '/sample/boom' });
    expect(res.statusCode).toBe(500);
    const body = res.json();
    expect(body.title).toBe('Internal Server Error');
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
