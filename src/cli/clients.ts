// tessera clients create|list|show|update|rotate-secret|disable|delete
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { seconds as durationSeconds, type Config } from "../config/schema.js";
import { ClientService, type ClientUpdate } from "../domain/clients/client-service.js";
import { clientJson, newClientJson, secretRotationJson } from "../domain/clients/client-view.js";
import { systemClock } from "../domain/clock.js";
import { ValidationError } from "../errors/internal.js";
import { AuditRepository } from "../storage/audit.js";
import { ClientRepository, type JsonWebKeySet } from "../storage/clients.js";
import { StatusListRepository } from "../storage/status-lists.js";
import { withDb } from "./db.js";
import { printer } from "./output.js";

const ACTOR = "cli";

const OPTIONS = {
  json: { type: "boolean" },
  name: { type: "string" },
  audience: { type: "string", multiple: true },
  scope: { type: "string", multiple: true },
  grant: { type: "string", multiple: true },
  "token-ttl": { type: "string" },
  "first-party": { type: "boolean" },
  "third-party": { type: "boolean" },
  introspect: { type: "boolean" },
  "no-introspect": { type: "boolean" },
  enable: { type: "boolean" },
  disable: { type: "boolean" },
  grace: { type: "string" },
  "jwks-file": { type: "string" },
  "redirect-uri": { type: "string", multiple: true },
  "post-logout-redirect-uri": { type: "string", multiple: true },
  public: { type: "boolean" },
  confidential: { type: "boolean" },
  "dpop-bound": { type: "boolean" },
  "no-dpop-bound": { type: "boolean" },
  "require-par": { type: "boolean" },
  "no-require-par": { type: "boolean" },
} as const;

export const CLIENTS_USAGE = `tessera clients create --name NAME --audience URI... [--scope "a b"] --grant TYPE... [--token-ttl DURATION] [--first-party] [--introspect] [--jwks-file FILE]
                       [--redirect-uri URI...] [--post-logout-redirect-uri URI...] [--public] [--dpop-bound] [--require-par]
tessera clients list
tessera clients show CLIENT_ID
tessera clients update CLIENT_ID [--name N] [--audience URI...] [--scope "a b"] [--grant T...] [--token-ttl DURATION|none]
                                 [--first-party|--third-party] [--enable|--disable] [--introspect|--no-introspect] [--jwks-file FILE|none]
                                 [--redirect-uri URI...|none] [--post-logout-redirect-uri URI...|none] [--public|--confidential]
                                 [--dpop-bound|--no-dpop-bound] [--require-par|--no-require-par]
tessera clients rotate-secret CLIENT_ID [--grace DURATION]
tessera clients disable CLIENT_ID
tessera clients delete CLIENT_ID
  DURATION: seconds or a unit, as in the environment: 900, 15m, 12h, 30d
  --grant authorization_code needs a --redirect-uri (repeat it for several; update replaces the list):
    https, http on 127.0.0.1/[::1]/localhost (any port matches on 127.0.0.1 and [::1]), or a private-use
    scheme such as com.example.app:/callback; exact match, no fragment.
  --post-logout-redirect-uri: where /end-session (RP-initiated logout) may send the browser back; the
    same rules as --redirect-uri, repeat it for several, update replaces the list, none clears it.
  --public: no secret (a browser or mobile app); only --grant authorization_code and refresh_token.
    A client made public loses its secret; made --confidential again, it gets one with rotate-secret.
  --dpop-bound: every token request must carry a DPoP proof (RFC 9449), so every access token is key-bound.
  --require-par: /authorize takes this client's requests only as a request_uri from /par (RFC 9126).`;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

const words = (list: string[] | undefined) => list?.flatMap((s) => s.split(/\s+/)).filter(Boolean);

/** A duration as the environment takes them (900, 15m, 12h, 30d), in seconds. */
function seconds(flag: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  try {
    return durationSeconds(min)(raw);
  } catch (e) {
    throw new ValidationError(`${flag}: ${(e as Error).message} (got ${JSON.stringify(raw)})`);
  }
}

/** A repeatable option's values; a lone "none" is the empty list. */
const listOrNone = (list: string[] | undefined) => (list?.length === 1 && list[0] === "none" ? [] : list);

function changesFrom(values: Values): ClientUpdate {
  if (values["first-party"] && values["third-party"]) throw new ValidationError("use --first-party or --third-party, not both");
  if (values.enable && values.disable) throw new ValidationError("use --enable or --disable, not both");
  if (values.introspect && values["no-introspect"]) throw new ValidationError("use --introspect or --no-introspect, not both");
  if (values.public && values.confidential) throw new ValidationError("use --public or --confidential, not both");
  if (values["dpop-bound"] && values["no-dpop-bound"]) throw new ValidationError("use --dpop-bound or --no-dpop-bound, not both");
  if (values["require-par"] && values["no-require-par"]) throw new ValidationError("use --require-par or --no-require-par, not both");
  const isPublic = values.public ? true : values.confidential ? false : undefined;
  const redirectUris = listOrNone(values["redirect-uri"]);
  const postLogoutRedirectUris = listOrNone(values["post-logout-redirect-uri"]);
  const ttl = values["token-ttl"] === "none" ? null : seconds("token-ttl", values["token-ttl"], 1);
  const firstParty = values["first-party"] ? true : values["third-party"] ? false : undefined;
  const enabled = values.enable ? true : values.disable ? false : undefined;
  const canIntrospect = values.introspect ? true : values["no-introspect"] ? false : undefined;
  const dpopBound = values["dpop-bound"] ? true : values["no-dpop-bound"] ? false : undefined;
  const requirePar = values["require-par"] ? true : values["no-require-par"] ? false : undefined;
  return {
    ...(values.name !== undefined && { name: values.name }),
    ...(values.audience && { audiences: values.audience }),
    ...(values.scope && { scopes: words(values.scope) }),
    ...(values.grant && { grantTypes: values.grant }),
    ...(ttl !== undefined && { tokenTtlSeconds: ttl }),
    ...(firstParty !== undefined && { firstParty }),
    ...(enabled !== undefined && { enabled }),
    ...(canIntrospect !== undefined && { canIntrospect }),
    ...(values["jwks-file"] !== undefined && { jwks: readJwks(values["jwks-file"]) }),
    ...(redirectUris !== undefined && { redirectUris }),
    ...(postLogoutRedirectUris !== undefined && { postLogoutRedirectUris }),
    ...(isPublic !== undefined && { public: isPublic }),
    ...(dpopBound !== undefined && { dpopBoundAccessTokens: dpopBound }),
    ...(requirePar !== undefined && { requirePushedAuthorizationRequests: requirePar }),
  };
}

/** A JWK Set file for private_key_jwt; "none" removes the keys. */
function readJwks(file: string): JsonWebKeySet | null {
  if (file === "none") return null;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as JsonWebKeySet;
  } catch (e) {
    throw new ValidationError(`jwks-file: cannot read a JSON JWK Set from ${file}: ${(e as Error).message}`);
  }
}

function requireId(id: string | undefined): string {
  if (!id) throw new ValidationError("missing CLIENT_ID");
  return id;
}

export async function clientsCommand(config: Config, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  const [action, id] = positionals;
  const print = printer(values.json ?? false);
  await withDb(config, async (db) => {
    const clients = new ClientService({ repo: new ClientRepository(db), statusBlocks: new StatusListRepository(db), audit: new AuditRepository(db), clock: systemClock });
    switch (action) {
      case "create": {
        const changes = changesFrom(values);
        if (changes.name === undefined) throw new ValidationError("name: --name is required");
        const { client, clientSecret } = await clients.create({
          name: changes.name,
          grantTypes: changes.grantTypes ?? [],
          scopes: changes.scopes ?? [],
          audiences: changes.audiences ?? [],
          tokenTtlSeconds: changes.tokenTtlSeconds ?? null,
          firstParty: changes.firstParty ?? false,
          canIntrospect: changes.canIntrospect ?? false,
          jwks: changes.jwks ?? null,
          redirectUris: changes.redirectUris ?? [],
          postLogoutRedirectUris: changes.postLogoutRedirectUris ?? [],
          public: changes.public ?? false,
          dpopBoundAccessTokens: changes.dpopBoundAccessTokens ?? false,
          requirePushedAuthorizationRequests: changes.requirePushedAuthorizationRequests ?? false,
        }, ACTOR);
        return print(newClientJson(client, clientSecret));
      }
      case "list":
        return print((await clients.list()).map(clientJson));
      case "show":
        return print(clientJson(await clients.show(requireId(id))));
      case "update": // no options: nothing changes, and the client is printed as it is
        return print(clientJson(await clients.update(requireId(id), changesFrom(values), ACTOR)));
      case "rotate-secret": {
        const { client, clientSecret } = await clients.rotateSecret(requireId(id), seconds("grace", values.grace, 0) ?? 0, ACTOR);
        return print(secretRotationJson(client, clientSecret));
      }
      case "disable":
        return print(clientJson(await clients.disable(requireId(id), ACTOR)));
      case "delete":
        await clients.delete(requireId(id), ACTOR);
        return print({ deleted: requireId(id) });
      default:
        throw new ValidationError(`unknown clients command ${JSON.stringify(action ?? "")}\n${CLIENTS_USAGE}`);
    }
  });
}
