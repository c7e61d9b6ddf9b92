// Set-Cookie headers of a response, parsed, for the route tests of /login, /refresh and /logout.
import type { LightMyRequestResponse } from "fastify";

export type SetCookie = { name: string; value: string; attributes: Record<string, string | true> };

/** Every Set-Cookie header, parsed; attribute names lower-cased. */
export const setCookies = (res: LightMyRequestResponse): SetCookie[] =>
  [res.headers["set-cookie"] ?? []].flat().map((header) => {
    const [pair = "", ...attrs] = header.split(";").map((s) => s.trim());
    const eq = pair.indexOf("=");
    const attributes: Record<string, string | true> = {};
    for (const attr of attrs) {
      const i = attr.indexOf("=");
      if (i === -1) attributes[attr.toLowerCase()] = true;
      else attributes[attr.slice(0, i).toLowerCase()] = attr.slice(i + 1);
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attributes };
  });
