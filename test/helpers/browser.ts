// A real browser for the flow tests: Debian's Chromium (package `chromium`) driven by playwright-core,
// headless, with a fresh profile per launch. A Chromium that playwright downloads itself does not run
// on this machine, so only /usr/bin/chromium is used; without it the tests fail, they never skip.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

type Teardown = { teardown(fn: () => unknown): void };

/**
 * Launches Chromium on a fresh user data dir (a persistent context on a new temp dir: no cookies,
 * no cache). Closed, and the dir removed, in teardown. Throws when /usr/bin/chromium is missing.
 */
export async function launchBrowser(t: Teardown): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); .ci/run does this`);
  }
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), "tessera-chromium-"));
  t.teardown(() => rm(userDataDir, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 640, height: 480 },
  });
  t.teardown(() => context.close());
  return context;
}

export type CallbackServer = {
  /** http://127.0.0.1:PORT/callback: register this as the client's redirect URI. */
  redirectUri: string;
  /** The full URL of every request to /callback so far (search params included). */
  received: URL[];
  /** Resolves with the next request's URL (or the one already received and not yet taken); rejects after timeoutMs. */
  next(timeoutMs?: number): Promise<URL>;
};

/**
 * The client's redirect endpoint: an HTTP server on a free loopback port that records each request's
 * URL (on /callback) and answers a small page, so that the browser lands somewhere and the test reads the query.
 */
export async function startCallbackServer(t: Teardown): Promise<CallbackServer> {
  const received: URL[] = [];
  let taken = 0;
  const waiters: ((url: URL) => void)[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host}`);
    if (url.pathname !== "/callback") {
      // the browser's own requests (favicon.ico) are not redirects
      res.writeHead(404).end();
      return;
    }
    received.push(url);
    const waiter = waiters.shift();
    if (waiter) {
      taken++;
      waiter(url);
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>callback</title><p>Back at the client.</p>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const { port } = server.address() as AddressInfo;
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  return {
    redirectUri,
    received,
    next(timeoutMs = 15_000) {
      if (taken < received.length) return Promise.resolve(received[taken++]!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`the browser did not come back to ${redirectUri} within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (url: URL) => {
          clearTimeout(timer);
          resolve(url);
        };
        waiters.push(waiter);
      });
    },
  };
}

/** Fills tessera's sign-in form (inputs named by the SPEC) and submits it; resolves once the next page loaded. */
export async function signInOnPage(page: Page, username: string, password: string): Promise<void> {
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForLoadState("load"), page.click('form [type="submit"]')]);
}

/** Clicks Allow or Deny on tessera's consent page; resolves with the URL the callback server received. */
export async function decideOnPage(page: Page, callback: CallbackServer, decision: "allow" | "deny"): Promise<URL> {
  const landed = callback.next();
  await page.click(`button[name="decision"][value="${decision}"]`);
  const url = await landed;
  await page.waitForURL((u) => u.href.startsWith(callback.redirectUri));
  return url;
}
