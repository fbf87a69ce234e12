// What every formatter produces: the body and the headers it needs (the delivery layer adds
// the sink's custom headers and the URL).
export interface FormattedAlert {
  headers: Record<string, string>;
  body: string;
}

export { RESOLVING_ACTIONS } from "../core/types.js";
