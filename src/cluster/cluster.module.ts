import { Global, Module } from '@nestjs/common';
import { ClusterLock } from './cluster-lock';

/** What several gateway instances share besides the database: locks for cluster-wide jobs. */
@Global()
@Module({ providers: [ClusterLock], exports: [ClusterLock] })
export class ClusterModule {}
