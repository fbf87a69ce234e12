// A Logger that keeps every line it is given (level, fields, message), for tests that
// check what a component said.
export interface LoggedLine {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}

export function recordingLogger() {
  const lines: LoggedLine[] = [];
  const rec = (level: string) => (obj: object, msg?: string) =>
    void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, log: { debug: rec("debug"), info: rec("info"), warn: rec("warn"), error: rec("error") } };
}
