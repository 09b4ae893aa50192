// Files bundled as text (tsup's `loader`, the vitest plugin and scripts/lua-loader-hooks.mjs).
declare module '*.lua' {
  const source: string;
  export default source;
}

declare module '*.html' {
  const source: string;
  export default source;
}

declare module '*.client.js' {
  const source: string;
  export default source;
}
