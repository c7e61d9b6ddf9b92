// How commands print: JSON with --json, otherwise short "key: value" lines for people.
export type Printer = (value: unknown) => void;

const human = (value: unknown): string => {
  if (Array.isArray(value)) return value.map(human).join("\n\n") || "(none)";
  if (value && typeof value === "object") {
    return Object.entries(value)
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : v instanceof Date ? v.toISOString() : v && typeof v === "object" ? JSON.stringify(v) : String(v)}`)
      .join("\n");
  }
  return String(value);
};

export const printer = (json: boolean): Printer => (value) =>
  process.stdout.write(`${json ? JSON.stringify(value, null, 2) : human(value)}\n`);
