// What every formatter produces: the body and the headers it needs (the delivery layer adds
// the sink's custom headers and the URL).
export interface FormattedAlert {
  headers: Record<string, string>;
  body: string;
}

/** Actions that close an incident: formatters send them as "resolved". */
export const RESOLVING_ACTIONS: ReadonlySet<string> = new Set(["recovered", "release"]);
