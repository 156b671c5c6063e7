// Boards in the browser: kept in IndexedDB like the gallery, moved between browsers as one
// *.aura-board.json file. Drawing a board (PNG, PDF, swatch strip) is the engine's work.

import { inStore } from "./idb.js";

const run = (mode, action) => inStore("aura-reflect-boards", "boards", mode, action);

export const FILE_FORMAT = "aura-board";
export const FILE_VERSION = 1;
export const LAYOUTS = ["grid", "masonry", "hero"];
export const MAX_IMAGES = 24; // the engine's limit for one board
const MAX_TITLE = 200;
const MAX_NOTE = 2000;
const PNG_BASE64 = /^iVBORw0KGgo[A-Za-z0-9+/]*={0,2}$/; // base64 of a PNG: its signature first
const HEX = /^#[0-9a-f]{6}$/;

// board: {id, title, note, layout, images: [{b64, prompt, seed, width, height, palette}], palette}
export function emptyBoard() {
  return { title: "", note: "", layout: "grid", images: [], palette: [] };
}

// Store the board (a new one gets its id); resolves with the id.
export async function saveBoard(board) {
  const record = { ...board, updatedAt: new Date().toISOString() };
  if (record.id == null) delete record.id;
  const id = await run("readwrite", (store) => store.put(record));
  board.id = id;
  return id;
}

export function listBoards() {
  return run("readonly", (store) => store.getAll());
}

export function deleteBoard(id) {
  return run("readwrite", (store) => store.delete(id));
}

// Move the image at `from` to `to`, the others keeping their order.
export function moveImage(board, from, to) {
  if (to < 0 || to >= board.images.length || from === to) return false;
  const [image] = board.images.splice(from, 1);
  board.images.splice(to, 0, image);
  return true;
}

// The board as the text of one file: everything needed to open it elsewhere.
export function boardFile(board) {
  const { title, note, layout, images, palette } = board;
  return JSON.stringify({
    format: FILE_FORMAT,
    version: FILE_VERSION,
    title,
    note,
    layout,
    palette,
    images: images.map(({ b64, prompt, seed, width, height, palette }) => ({ b64, prompt, seed, width, height, palette })),
    exportedAt: new Date().toISOString(),
  });
}

// A problem with a board file; `reason` is the dictionary key (i18n.js) of the message that says which.
export class BoardFileError extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

function palette(value) {
  if (!Array.isArray(value)) return [];
  return value
    .filter((c) => HEX.test(String(c?.hex).toLowerCase()) && Number.isFinite(Number(c?.share)))
    .map((c) => ({ hex: c.hex.toLowerCase(), share: Number(c.share) }));
}

function text(value, max) {
  return typeof value === "string" ? value.slice(0, max) : "";
}

// The board in a file's text, checked: what is not a board is refused with a BoardFileError.
export function parseBoardFile(content) {
  let data;
  try {
    data = JSON.parse(content);
  } catch {
    throw new BoardFileError("error.boardFile.notJson");
  }
  if (data?.format !== FILE_FORMAT) throw new BoardFileError("error.boardFile.notBoard");
  if (data.version !== FILE_VERSION) {
    throw new BoardFileError(Number(data.version) > FILE_VERSION ? "error.boardFile.version" : "error.boardFile.notBoard");
  }
  const images = data.images;
  if (!Array.isArray(images) || images.length === 0 || images.length > MAX_IMAGES) {
    throw new BoardFileError("error.boardFile.imageCount");
  }
  if (!images.every((image) => typeof image?.b64 === "string" && PNG_BASE64.test(image.b64))) {
    throw new BoardFileError("error.boardFile.badImage");
  }
  return {
    title: text(data.title, MAX_TITLE),
    note: text(data.note, MAX_NOTE),
    layout: LAYOUTS.includes(data.layout) ? data.layout : "grid",
    palette: palette(data.palette),
    images: images.map((image) => ({
      b64: image.b64,
      prompt: text(image.prompt, 2000),
      seed: Number.isSafeInteger(image.seed) ? image.seed : null,
      width: Number.isSafeInteger(image.width) ? image.width : null,
      height: Number.isSafeInteger(image.height) ? image.height : null,
      palette: palette(image.palette),
    })),
  };
}
