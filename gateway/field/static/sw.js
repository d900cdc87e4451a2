// The field app's service worker: keeps the shell for offline use (cache first, refreshed
// when online); the API is never cached here (the app keeps its data in IndexedDB).
"use strict";
const CACHE = "zone-field-__SHELL_VERSION__";
const SHELL = [
  "/field/",
  "/field/app.js",
  "/field/app.css",
  "/field/manifest.webmanifest",
  "/field/words.json",
  "/field/icon-192.png",
  "/field/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("zone-field-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!url.pathname.startsWith("/field/")) return; // the API goes to the network
  const key = event.request.mode === "navigate" ? "/field/" : url.pathname;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(key);
      const fresh = fetch(event.request)
        .then((response) => {
          if (response.ok && SHELL.includes(key)) cache.put(key, response.clone());
          return response;
        })
        .catch(() => cached);
      return cached || fresh;
    }),
  );
});
