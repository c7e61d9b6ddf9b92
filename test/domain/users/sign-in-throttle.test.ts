// SignInThrottle on its own, with a settable clock: the back-off after five wrong passwords, and
// what forgets the failures (a success, or 15 quiet minutes; a minute less forgets nothing).
import t from "tap";
import { SignInThrottle } from "../../../src/domain/users/sign-in-throttle.js";
import { SlowDown } from "../../../src/errors/oauth.js";
import { SettableClock } from "../../helpers/clock.js";

const QUIET_SECONDS = 15 * 60;

/** The seconds `check` asks to wait, or 0 when it lets the attempt through. */
function waitOf(throttle: SignInThrottle, username: string): number {
  try {
    throttle.check(username);
    return 0;
  } catch (error) {
    if (!(error instanceof SlowDown)) throw error;
    return error.retryAfterSeconds;
  }
}

const failTimes = (throttle: SignInThrottle, username: string, times: number) => {
  for (let i = 0; i < times; i++) throttle.failed(username);
};

t.test("four failures are free; the fifth waits 1 s, the sixth 2 s; other usernames are not slowed", async (t) => {
  const clock = new SettableClock();
  const throttle = new SignInThrottle(clock);
  failTimes(throttle, "alice", 4);
  t.equal(waitOf(throttle, "alice"), 0);
  throttle.failed("alice");
  t.equal(waitOf(throttle, "alice"), 1);
  t.equal(waitOf(throttle, "bob"), 0);
  clock.advance(1);
  t.equal(waitOf(throttle, "alice"), 0, "the wait is over");
  throttle.failed("alice");
  t.equal(waitOf(throttle, "alice"), 2);
});

t.test("after 15 quiet minutes the failures are forgotten: the next failure is a first one", async (t) => {
  const clock = new SettableClock();
  const throttle = new SignInThrottle(clock);
  failTimes(throttle, "alice", 5);
  clock.advance(QUIET_SECONDS + 1);
  throttle.failed("alice");
  t.equal(waitOf(throttle, "alice"), 0);
});

t.test("after exactly 15 minutes they are still counted: the next failure is the sixth", async (t) => {
  const clock = new SettableClock();
  const throttle = new SignInThrottle(clock);
  failTimes(throttle, "alice", 5);
  clock.advance(QUIET_SECONDS);
  throttle.failed("alice");
  t.equal(waitOf(throttle, "alice"), 2);
});

t.test("a success forgets the failures", async (t) => {
  const clock = new SettableClock();
  const throttle = new SignInThrottle(clock);
  failTimes(throttle, "alice", 5);
  throttle.succeeded("alice");
  t.equal(waitOf(throttle, "alice"), 0);
  throttle.failed("alice");
  t.equal(waitOf(throttle, "alice"), 0, "one failure after the success is free again");
});
