// The interaction: an authorization request carried across the sign-in and consent forms without
// trusting the browser and without server state (any instance answers any form post). The request
// is sealed into a hidden field, `payload.mac`, MACed (HMAC-SHA256) with a key derived from the KEK
// and valid for INTERACTION_TTL_SECONDS. Each form also carries a CSRF token: a MAC of the
// interaction's id and of a random value in the browser's tessera_csrf cookie, so a form posted
// from another browser (or another site, which the SameSite cookie does not reach) is refused.
import { constantTimeEqual, keyedDigest, randomToken } from "../../crypto/secrets.js";
import type { Clock } from "../clock.js";
import type { AuthorizationRequest } from "./authorization-request.js";

/** How long a sign-in or consent page may wait for its form post (30 min). */
export const INTERACTION_TTL_SECONDS = 30 * 60;

export type Interaction = {
  id: string;
  /** when the interaction began (ms): prompt=login wants a password typed after it */
  startedAt: number;
  expiresAt: number;
  request: AuthorizationRequest;
  /** the user the consent page was shown to: the consent post must come from the same user */
  userId?: string;
};

/** `value` as a hidden form field, `payload.mac`: base64url JSON, MACed with `key` for `purpose`. */
export function sealForm(key: Buffer, purpose: string, value: unknown): string {
  const payload = Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${payload}.${keyedDigest(key, `${purpose}.${payload}`)}`;
}

/** The value sealForm sealed with this key and purpose; null when the field was altered or forged. */
export function openForm(key: Buffer, purpose: string, sealed: string): unknown {
  const [payload = "", mac = "", ...rest] = sealed.split(".");
  if (rest.length || !constantTimeEqual(mac, keyedDigest(key, `${purpose}.${payload}`))) return null;
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
}

/** A form post whose interaction or CSRF token does not hold (a 400 page, never a redirect). */
export class InteractionRefused extends Error {}

export class InteractionSealer {
  readonly #key: Buffer;
  readonly #clock: Clock;

  constructor(key: Buffer, clock: Clock) {
    this.#key = key;
    this.#clock = clock;
  }

  /** A fresh interaction for a checked request. */
  begin(request: AuthorizationRequest): Interaction {
    const now = this.#clock.now();
    return { id: randomToken(16), startedAt: now, expiresAt: now + INTERACTION_TTL_SECONDS * 1000, request };
  }

  seal(interaction: Interaction): string {
    return sealForm(this.#key, "interaction", interaction);
  }

  /** The interaction a form sent back, if its MAC holds and it has not expired; else InteractionRefused. */
  open(sealed: string): Interaction {
    const interaction = openForm(this.#key, "interaction", sealed) as Interaction | null;
    if (interaction === null) throw new InteractionRefused("the form was altered or is not from this server; start again from the application");
    if (interaction.expiresAt <= this.#clock.now()) {
      throw new InteractionRefused("the page was open too long; go back to the application and start again");
    }
    return interaction;
  }

  /** The CSRF token of the interaction's forms in the browser whose tessera_csrf cookie is `binding`. */
  csrfToken(interaction: Interaction, binding: string): string {
    return keyedDigest(this.#key, `csrf.${interaction.id}.${binding}`);
  }

  checkCsrf(interaction: Interaction, binding: string | undefined, token: string): void {
    if (!binding || !constantTimeEqual(token, this.csrfToken(interaction, binding))) {
      throw new InteractionRefused("the form's security token does not match this browser; reload the application and start again");
    }
  }
}
