// IndexedDB in two calls: one database per kind of thing (gallery, boards), one object store in
// each, so that adding a kind never needs a version upgrade of another's database.

function open(dbName, store) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(dbName, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(store, { keyPath: "id", autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Run `action(objectStore)` in one transaction; resolves with its request's result once committed.
export async function inStore(dbName, store, mode, action) {
  const db = await open(dbName, store);
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const request = action(tx.objectStore(store));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}
