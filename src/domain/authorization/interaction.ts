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
    const payload = Buffer.from(JSON.stringify(interaction)).toString("base64url");
    return `${payload}.${keyedDigest(this.#key, `interaction.${payload}`)}`;
  }

  /** The interaction a form sent back, if its MAC holds and it has not expired; else InteractionRefused. */
  open(sealed: string): Interaction {
    const [payload = "", mac = "", ...rest] = sealed.split(".");
    if (rest.length || !constantTimeEqual(mac, keyedDigest(this.#key, `interaction.${payload}`))) {
      throw new InteractionRefused("the form was altered or is not from this server; start again from the application");
    }
    const interaction = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Interaction;
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
