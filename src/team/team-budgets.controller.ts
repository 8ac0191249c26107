import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, Post } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.guard';
import { BudgetsService } from './budgets/budgets.service';
import { BudgetDto, BudgetListDto, CreateBudgetDto } from './dto/team-budget.dto';

@ApiTags('team')
@Controller('api/team/budgets')
export class TeamBudgetsController {
  constructor(private readonly budgets: BudgetsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Set a budget: a member’s or the team’s, per day, week (from Monday) or month, in USD',
    description:
      'Crossing 80 % and 100 % raises an alert (webhooks, dashboards, GET /api/alerts) once per period. A second budget for the same member and period replaces the first.',
  })
  @ApiOkResponse({ type: BudgetDto })
  set(@Body() body: CreateBudgetDto): Promise<BudgetDto> {
    return this.budgets.set(body);
  }

  @Get()
  @ApiOperation({ summary: 'The budgets, each with what was spent in its current period' })
  @ApiOkResponse({ type: BudgetListDto })
  async list(): Promise<BudgetListDto> {
    const budgets = await this.budgets.status();
    return { budgets, count: budgets.length };
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a budget' })
  @ApiNoContentResponse()
  remove(@Param('id', ParseIntPipe) id: number): Promise<void> {
    return this.budgets.remove(id);
  }
}
