export * from "./base";
export * from "./geometry";
export { default as helper } from "./base";
export * as geometry from "./geometry.js";
