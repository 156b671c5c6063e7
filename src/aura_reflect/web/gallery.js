// The gallery: saved sets of images in IndexedDB, so they survive a reload.

const DB_NAME = "aura-reflect";
const STORE = "gallery";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

// set: {prompt, engine, images: [{b64, seed, width, height}]}
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
