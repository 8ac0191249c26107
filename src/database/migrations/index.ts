import { InitialSchema1795000000000 } from './1795000000000-InitialSchema';
import { DomainEvents1795000000001 } from './1795000000001-DomainEvents';
import { EventIdempotencyAndRetention1795000000002 } from './1795000000002-EventIdempotencyAndRetention';
import { Alerts1795000000003 } from './1795000000003-Alerts';
import { EventTimestampSource1795000000004 } from './1795000000004-EventTimestampSource';
import { AlertOutbox1795000000005 } from './1795000000005-AlertOutbox';
import { LimitObservations1795000000006 } from './1795000000006-LimitObservations';
import { TeamMembers1795000000007 } from './1795000000007-TeamMembers';
import { UsageLedger1795000000008 } from './1795000000008-UsageLedger';
import { OtlpMetrics1795000000009 } from './1795000000009-OtlpMetrics';
import { TeamBudgets1795000000010 } from './1795000000010-TeamBudgets';
import { MemberRollups1795000000011 } from './1795000000011-MemberRollups';
import { Ccusage20Rules1795000000012 } from './1795000000012-Ccusage20Rules';
import { AgentDimension1795000000013 } from './1795000000013-AgentDimension';
import { AgentLimits1795000000014 } from './1795000000014-AgentLimits';
import { MemberDays1795000000015 } from './1795000000015-MemberDays';
import { EnforcedBudgets1795000000016 } from './1795000000016-EnforcedBudgets';

/** Every migration, in order. Listed by class (not a glob) so they load the same under tsc, SWC and Vitest. */
export const MIGRATIONS = [
  InitialSchema1795000000000,
  DomainEvents1795000000001,
  EventIdempotencyAndRetention1795000000002,
  Alerts1795000000003,
  EventTimestampSource1795000000004,
  AlertOutbox1795000000005,
  LimitObservations1795000000006,
  TeamMembers1795000000007,
  UsageLedger1795000000008,
  OtlpMetrics1795000000009,
  TeamBudgets1795000000010,
  MemberRollups1795000000011,
  Ccusage20Rules1795000000012,
  AgentDimension1795000000013,
  AgentLimits1795000000014,
  MemberDays1795000000015,
  EnforcedBudgets1795000000016,
];
