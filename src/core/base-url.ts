// A base URL as the product joins routes onto it: without trailing slashes, so
// "http://h:9760/" and "http://h:9760" name the same base and "/health" is appended once.

/** `url` without its trailing slashes: `http://h:9760//` → `http://h:9760`. */
export function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
