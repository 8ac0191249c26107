import { AlertDelivery } from '../alerts/alert-delivery.entity';
import { AlertRecord } from '../alerts/alert.entity';
import { HookEvent } from '../events/hook-event.entity';
import { LimitObservation } from '../limits/limit-observation.entity';
import { TeamMember } from '../team/members/team-member.entity';
import { UsageEntry } from '../team/ledger/usage-entry.entity';
import {
  UsageMachineActivity,
  UsageMemberRollup,
  UsageMemberDay,
  UsageRollup,
  UsageSessionRollup,
  UsageTeamRollup,
} from '../team/ledger/usage-rollup.entity';
import { OtlpPoint, OtlpSeries, UsageMetricMinute } from '../team/otlp/otlp-series.entity';
import { ProxyReservation, TeamBudget } from '../team/budgets/team-budget.entity';
import { UsageConfigRecord } from '../usage/usage-config.entity';
import { UsageSnapshot } from '../usage/usage-snapshot.entity';

/**
 * Every entity, for the one DataSource definition shared by the app and the TypeORM CLI.
 * Each feature owns its entities; this list only registers them.
 */
export const ENTITIES = [
  UsageSnapshot,
  UsageConfigRecord,
  HookEvent,
  AlertRecord,
  AlertDelivery,
  LimitObservation,
  TeamMember,
  UsageEntry,
  UsageRollup,
  UsageSessionRollup,
  UsageTeamRollup,
  UsageMemberRollup,
  UsageMemberDay,
  UsageMachineActivity,
  UsageMetricMinute,
  OtlpPoint,
  OtlpSeries,
  TeamBudget,
  ProxyReservation,
];
