// The local runtime's console log: one readable line per thing that happened, quiet under tests.

export interface LocalLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = keyof typeof levels;

const render = (fields: Record<string, unknown> | undefined): string =>
  fields
    ? Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => ` ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join("")
    : "";

/**
 * A logger writing `HH:MM:SS level message key=value` lines to stderr.
 *
 * @example
 * const log = createLogger("info"); log.info("event accepted", { id });
 */
export const createLogger = (level: string = process.env.SWITCHYARD_LOG_LEVEL ?? "info"): LocalLogger => {
  const threshold = levels[(level in levels ? level : "info") as Level];
  const write = (at: Exclude<Level, "silent">) => (message: string, fields?: Record<string, unknown>) => {
    if (levels[at] < threshold) return;
    const time = new Date().toISOString().slice(11, 19);
    process.stderr.write(`${time} ${at.padEnd(5)} ${message}${render(fields)}\n`);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
};

/** A logger that drops everything (tests). */
export const silentLogger: LocalLogger = createLogger("silent");
