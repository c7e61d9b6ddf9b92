// RouteDurations through a real prom-client Registry: the exposition text it gives /metrics, and
// registry.resetMetrics() (prom-client's reset of every metric) zeroing its series.
import { Registry } from "prom-client";
import t from "tap";
import { RouteDurations } from "../../src/http/route-durations.js";

const seriesLines = (text: string) => text.split("\n").filter((line) => line.startsWith("test_duration_seconds"));

t.test("cumulative buckets, +Inf, sum and count per method, route and status", async (t) => {
  const registry = new Registry();
  const durations = new RouteDurations("test_duration_seconds", "test durations", [0.1, 1], registry);
  const record = durations.route("GET", "/x");
  record(200, 0.05);
  record(200, 0.5);
  record(200, 2);
  record(404, 0.01);
  t.same(seriesLines(await registry.metrics()), [
    'test_duration_seconds_bucket{le="0.1",method="GET",route="/x",status="200"} 1',
    'test_duration_seconds_bucket{le="1",method="GET",route="/x",status="200"} 2',
    'test_duration_seconds_bucket{le="+Inf",method="GET",route="/x",status="200"} 3',
    'test_duration_seconds_sum{method="GET",route="/x",status="200"} 2.55',
    'test_duration_seconds_count{method="GET",route="/x",status="200"} 3',
    'test_duration_seconds_bucket{le="0.1",method="GET",route="/x",status="404"} 1',
    'test_duration_seconds_bucket{le="1",method="GET",route="/x",status="404"} 1',
    'test_duration_seconds_bucket{le="+Inf",method="GET",route="/x",status="404"} 1',
    'test_duration_seconds_sum{method="GET",route="/x",status="404"} 0.01',
    'test_duration_seconds_count{method="GET",route="/x",status="404"} 1',
  ]);
});

t.test("registry.resetMetrics() zeroes every series; recording starts again from zero", async (t) => {
  const registry = new Registry();
  const durations = new RouteDurations("test_duration_seconds", "test durations", [0.1], registry);
  const record = durations.route("POST", "/token");
  record(200, 0.05);
  record(200, 0.2);
  registry.resetMetrics();
  t.same(seriesLines(await registry.metrics()), [
    'test_duration_seconds_bucket{le="0.1",method="POST",route="/token",status="200"} 0',
    'test_duration_seconds_bucket{le="+Inf",method="POST",route="/token",status="200"} 0',
    'test_duration_seconds_sum{method="POST",route="/token",status="200"} 0',
    'test_duration_seconds_count{method="POST",route="/token",status="200"} 0',
  ]);
  record(200, 0.2);
  t.same(seriesLines(await registry.metrics()).at(-1), 'test_duration_seconds_count{method="POST",route="/token",status="200"} 1');
});
