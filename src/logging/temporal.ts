/**
 * Temporal's logs into the same pino stream: the SDK's own (worker start, activity and workflow task
 * failures), workflow `log.*` calls and activity `Context.current().log.*` calls, each with the metadata the SDK
 * attaches (workflowId, runId, workflowType, activityType, attempt, taskQueue...).
 */
import { DefaultLogger, type LogEntry, type Logger as TemporalLogger, type LogLevel } from '@temporalio/worker';
import type { Level, Logger } from './logger';

const TO_PINO: Record<LogLevel, Level> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** The Temporal level that lets through what `level` does (Temporal has no fatal). */
function temporalLevel(level: string): LogLevel {
  const levels: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN' };
  return levels[level] ?? 'ERROR';
}

/**
 * Metadata worth a field. The activity task token is dropped: it is long, and it is what completes the
 * activity from outside (a capability, not a fact about the run).
 */
function fields(meta: LogEntry['meta']): Record<string, unknown> {
  if (!meta) return {};
  const { taskToken: _token, ...rest } = meta;
  return rest;
}

/** A Temporal Logger (for `Runtime.install({ logger })`) that writes through `logger`. */
export function temporalLogger(logger: Logger): TemporalLogger {
  return new DefaultLogger(temporalLevel(logger.level), (entry: LogEntry) => {
    logger[TO_PINO[entry.level]](fields(entry.meta), entry.message);
  });
}
