// The gallery: saved sets of images in IndexedDB, so they survive a reload.

import { inStore } from "./idb.js";

const run = (mode, action) => inStore("aura-reflect", "gallery", mode, action);

// set: {prompt, engine, images: [{b64, seed, width, height, palette}]}
export function saveSet(set) {
  return run("readwrite", (store) => store.add({ ...set, createdAt: new Date().toISOString() }));
}

export function listSets() {
  return run("readonly", (store) => store.getAll());
}

export async function removeImage(setId, index) {
  const sets = await listSets();
  const set = sets.find((s) => s.id === setId);
  if (!set) return;
  set.images.splice(index, 1);
  await run("readwrite", (store) => (set.images.length ? store.put(set) : store.delete(setId)));
}
