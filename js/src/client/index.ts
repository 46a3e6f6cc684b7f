/** The framework-free events client of graphlive (docs/protocol.md). */
export * from "./backoff.js";
export * from "./channel.js";
export * from "./clock.js";
export * from "./connection.js";
export * from "./protocol.js";
export * from "./registry.js";
export * from "./server.js";
export * from "./wildcard.js";
