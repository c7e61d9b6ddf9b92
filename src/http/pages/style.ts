// The pages' stylesheet, served at /authorize/style.css (style-src 'self': no inline style in a page).
// Plain and readable: one centred column, system fonts, visible focus, dark mode by preference.
export const STYLESHEET = `:root { color-scheme: light dark; --accent: #2457c5; --muted: #666; --border: #ccc; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 26rem; margin: 3rem auto; padding: 2rem; border: 1px solid var(--border); border-radius: 8px; }
header { text-align: center; margin-bottom: 1rem; }
header img { max-height: 3rem; max-width: 100%; }
.brand { font-weight: 600; color: var(--muted); }
h1 { font-size: 1.4rem; margin: 0.5rem 0 1rem; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; padding: 0.6rem; margin-top: 0.25rem; font: inherit; border: 1px solid var(--border); border-radius: 4px; }
button { font: inherit; padding: 0.6rem 1.2rem; margin-top: 1.2rem; border-radius: 4px; border: 1px solid var(--accent); cursor: pointer; }
button.primary { background: var(--accent); color: #fff; }
button.secondary { background: transparent; color: inherit; }
button.link { border: none; background: none; color: var(--accent); text-decoration: underline; padding: 0; margin-top: 0.5rem; }
.actions { display: flex; gap: 0.75rem; justify-content: flex-end; }
.error { border-left: 4px solid #c0392b; padding: 0.5rem 0.75rem; background: rgba(192, 57, 43, 0.08); }
.muted { color: var(--muted); font-size: 0.9rem; }
ul { padding-left: 1.2rem; }
code { font-size: 0.95em; word-break: break-all; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
`;
