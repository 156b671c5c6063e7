// The studio's words in English and Spanish: one dictionary per language, the same keys in both.
// Static elements name their key in data-i18n (text), data-i18n-placeholder, data-i18n-aria-label
// or data-i18n-title; messages are built with t(key, {params}).

export const STRINGS = {
  en: {
    "page.title": "Aura Reflect — moodboard studio",
    "language.group": "Language",
    "mode.group": "Engine",
    "mode.local": "Local",
    "mode.cloud": "Cloud",
    "mode.auto": "Auto",

    "create.title": "Create",
    "prompt.label": "Mood",
    "prompt.placeholder": "rainy afternoon in Tokyo",
    "aspect.label": "Aspect ratio",
    "aspect.auto": "Auto",
    "resolution.label": "Resolution",
    "resolution.standard": "Standard",
    "resolution.high": "High",
    "count.label": "Images",
    "temperature.label": "Temperature",
    "temperature.help": "Lower is more literal, higher is more varied.",
    "advanced": "Advanced",
    "steps.label": "Steps",
    "steps.placeholder": "engine default",
    "guidance.label": "Guidance scale",
    "guidance.placeholder": "from temperature",
    "seed.label": "Seed",
    "seed.placeholder": "random",
    "generate": "Generate",
    "new": "New",
    "cancel": "Cancel",

    "progress.starting": "Starting…",
    "progress.queued": "Queued (position {position})",
    "progress.step": "Step {step} of {total}",
    "progress.cancelling": "Cancelling…",

    "results.title": "Results",
    "results.empty": "Your images appear here. Click or press Space to select them.",
    "results.list": "Generated images",
    "results.madeBy.local": "made by local",
    "results.madeBy.cloud": "made by cloud",
    "results.meta": "{madeBy} · {model} · {width}×{height}",
    "refine.label": "Refine the selected images",
    "refine.placeholder": "darker, more neon",
    "refine": "Refine",
    "download": "Download selected",
    "save": "Save to gallery",
    "selection.count.one": "{count} selected",
    "selection.count.other": "{count} selected",
    "tile.label": "Image {n}",
    "tile.labelSeed": "Image {n}, seed {seed}",
    "tile.alt": "{prompt} (image {n})",
    "badge.local": "local",
    "badge.cloud": "cloud",

    "palette.group": "Palette of image {n}",
    "palette.swatch": "Copy {hex} ({percent}%)",
    "palette.copied": "Copied {hex}",
    "palette.copyFailed": "Could not copy {hex}",

    "engines.title": "Engines",
    "engines.addresses": "Engine addresses",
    "localUrl.label": "Local engine URL",
    "localUrl.placeholder": "this page's origin",
    "cloudUrl.label": "Cloud engine URL",
    "cloudKey.label": "Cloud API key (if the engine sets AURA_API_KEY)",
    "saveUrls": "Save addresses",
    "engine.local": "Local",
    "engine.cloud": "Cloud",
    "engine.state.online": "online",
    "engine.state.loading": "loading",
    "engine.state.offline": "offline",
    "engine.state.error": "error",
    "engine.state.cors": "blocked by CORS",
    "engine.state.unset": "no URL set",
    "engine.state.checking": "checking…",
    "engine.fact.url": "URL",
    "engine.fact.device": "Device",
    "engine.fact.model": "Model",
    "engine.fact.scheduler": "Scheduler",
    "engine.fact.round-trip": "Round trip",
    "engine.fact.fix": "Fix",
    "engine.fact.why": "Why",
    "engine.rtt": "{ms} ms",
    "engine.fixCors": "add {origin} to the engine's ALLOW_ORIGINS",
    "engine.details": "Details",
    "engine.check": "Check",
    "engine.check.local": "Check the local engine",
    "engine.check.cloud": "Check the cloud engine",

    "gallery.title": "Gallery",
    "gallery.empty": "Saved sets stay here, also after a reload.",
    "gallery.alt": "{prompt} (saved image {n})",
    "gallery.remove": "Remove saved image {n} of “{prompt}”",

    "error.who.local": "Local engine: ",
    "error.who.cloud": "Cloud engine: ",
    "error.overloaded": "{who}busy — {message}.",
    "error.retryIn": "{who}busy — {message}. Retry in {seconds} s.",
    "error.invalid": "{who}invalid input: {message}",
    "error.invalidField": "{who}invalid input ({field}): {message}",
    "error.server": "{who}failed: {message}",
    "error.cancelled": "Cancelled.",
    "error.noUrl.local": "No local engine URL is set.",
    "error.noUrl.cloud": "No cloud engine URL is set.",
    "error.timeout.local": "The local engine did not answer within {seconds} s.",
    "error.timeout.cloud": "The cloud engine did not answer within {seconds} s.",
    "error.cors.local":
      "The local engine at {base} is running but does not allow this page's origin ({origin}). " +
      "Add {origin} to its ALLOW_ORIGINS setting.",
    "error.cors.cloud":
      "The cloud engine at {base} is running but does not allow this page's origin ({origin}). " +
      "Add {origin} to its ALLOW_ORIGINS setting.",
    "error.unreachable.local": "The local engine at {base} is unreachable.",
    "error.unreachable.cloud": "The cloud engine at {base} is unreachable.",
    "error.noPrompt": "Describe a mood first.",
    "error.noSelection": "Select one or more images to refine.",
    "error.noRefinePrompt": "Say how to refine them, for example “darker, more neon”.",
    "error.nothingToDownload": "Select the images to download.",
    "error.nothingToSave": "Nothing to save yet.",

    "board.addSelected": "Add selected to board",
    "board.heading": "Board",
    "board.pick": "Your boards",
    "board.new": "New board",
    "board.delete": "Delete board",
    "board.untitled": "Untitled board",
    "board.option": "{title} ({count})",
    "board.title": "Title",
    "board.titlePlaceholder": "Rainy Tokyo",
    "board.layout": "Layout",
    "board.layout.grid": "Grid",
    "board.layout.masonry": "Masonry",
    "board.layout.hero": "Hero and smaller images",
    "board.note": "Note",
    "board.notePlaceholder": "What the board is for, what to keep",
    "board.empty": "Add images with “Add selected to board”, or with the + of a gallery image.",
    "board.help": "Drag images to reorder them, or focus one and press Alt + an arrow key; Delete removes it.",
    "board.list": "Board images",
    "board.tile": "Image {n} of {total}: {prompt}",
    "board.remove": "Remove image {n} from the board",
    "board.moved": "Moved to position {n} of {total}",
    "board.removed": "Image removed; {total} left",
    "board.imported": "Imported “{title}”",
    "board.palette": "Board palette",
    "board.paletteGroup": "Colours of the board",
    "board.css": "CSS variables",
    "board.copyCss": "Copy CSS variables",
    "board.cssCopied": "CSS variables copied",
    "board.cssNotCopied": "Could not copy the CSS variables",
    "board.swatches": "Palette strip (PNG)",
    "board.png": "Export PNG",
    "board.pdf": "Export PDF",
    "board.export": "Export board file",
    "board.import": "Import board file",
    "board.working": "Drawing the board…",
    "gallery.add": "Add saved image {n} of “{prompt}” to the board",
    "gallery.addShort": "+ board",
    "error.boardFile.notJson": "“{name}” cannot be opened as a board: it is not JSON.",
    "error.boardFile.notBoard": "“{name}” cannot be opened as a board: it is not an Aura Reflect board file.",
    "error.boardFile.version": "“{name}” cannot be opened as a board: it comes from a newer studio.",
    "error.boardFile.imageCount": "“{name}” cannot be opened as a board: a board holds 1 to 24 images.",
    "error.boardFile.badImage": "“{name}” cannot be opened as a board: one of its images is not a PNG.",
    "error.noBoardSelection": "Select the images to add to the board.",
    "error.boardFull": "A board holds at most {max} images.",
    "error.boardEmpty": "Add images to the board first.",
  },

  es: {
    "page.title": "Aura Reflect — estudio de moodboards",
    "language.group": "Idioma",
    "mode.group": "Motor",
    "mode.local": "Local",
    "mode.cloud": "Nube",
    "mode.auto": "Auto",

    "create.title": "Crear",
    "prompt.label": "Ambiente",
    "prompt.placeholder": "tarde lluviosa en Tokio",
    "aspect.label": "Proporción",
    "aspect.auto": "Automática",
    "resolution.label": "Resolución",
    "resolution.standard": "Estándar",
    "resolution.high": "Alta",
    "count.label": "Imágenes",
    "temperature.label": "Temperatura",
    "temperature.help": "Cuanto más baja, más literal; cuanto más alta, más variada.",
    "advanced": "Avanzado",
    "steps.label": "Pasos",
    "steps.placeholder": "los del motor",
    "guidance.label": "Escala de guía",
    "guidance.placeholder": "según la temperatura",
    "seed.label": "Semilla",
    "seed.placeholder": "aleatoria",
    "generate": "Generar",
    "new": "Nuevo",
    "cancel": "Cancelar",

    "progress.starting": "Empezando…",
    "progress.queued": "En cola (posición {position})",
    "progress.step": "Paso {step} de {total}",
    "progress.cancelling": "Cancelando…",

    "results.title": "Resultados",
    "results.empty": "Aquí aparecen tus imágenes. Haz clic en ellas o pulsa Espacio para seleccionarlas.",
    "results.list": "Imágenes generadas",
    "results.madeBy.local": "hecho en local",
    "results.madeBy.cloud": "hecho en la nube",
    "results.meta": "{madeBy} · {model} · {width}×{height}",
    "refine.label": "Refinar las imágenes seleccionadas",
    "refine.placeholder": "más oscuro, más neón",
    "refine": "Refinar",
    "download": "Descargar selección",
    "save": "Guardar en la galería",
    "selection.count.one": "{count} seleccionada",
    "selection.count.other": "{count} seleccionadas",
    "tile.label": "Imagen {n}",
    "tile.labelSeed": "Imagen {n}, semilla {seed}",
    "tile.alt": "{prompt} (imagen {n})",
    "badge.local": "local",
    "badge.cloud": "nube",

    "palette.group": "Paleta de la imagen {n}",
    "palette.swatch": "Copiar {hex} ({percent} %)",
    "palette.copied": "Copiado {hex}",
    "palette.copyFailed": "No se pudo copiar {hex}",

    "engines.title": "Motores",
    "engines.addresses": "Direcciones de los motores",
    "localUrl.label": "URL del motor local",
    "localUrl.placeholder": "el origen de esta página",
    "cloudUrl.label": "URL del motor en la nube",
    "cloudKey.label": "Clave de API de la nube (si el motor define AURA_API_KEY)",
    "saveUrls": "Guardar direcciones",
    "engine.local": "Local",
    "engine.cloud": "Nube",
    "engine.state.online": "en línea",
    "engine.state.loading": "cargando",
    "engine.state.offline": "sin conexión",
    "engine.state.error": "error",
    "engine.state.cors": "bloqueado por CORS",
    "engine.state.unset": "sin URL",
    "engine.state.checking": "comprobando…",
    "engine.fact.url": "URL",
    "engine.fact.device": "Dispositivo",
    "engine.fact.model": "Modelo",
    "engine.fact.scheduler": "Planificador",
    "engine.fact.round-trip": "Ida y vuelta",
    "engine.fact.fix": "Solución",
    "engine.fact.why": "Motivo",
    "engine.rtt": "{ms} ms",
    "engine.fixCors": "añade {origin} a ALLOW_ORIGINS en el motor",
    "engine.details": "Detalles",
    "engine.check": "Comprobar",
    "engine.check.local": "Comprobar el motor local",
    "engine.check.cloud": "Comprobar el motor en la nube",

    "gallery.title": "Galería",
    "gallery.empty": "Los conjuntos guardados se quedan aquí, también después de recargar.",
    "gallery.alt": "{prompt} (imagen guardada {n})",
    "gallery.remove": "Quitar la imagen guardada {n} de «{prompt}»",

    "error.who.local": "Motor local: ",
    "error.who.cloud": "Motor en la nube: ",
    "error.overloaded": "{who}ocupado — {message}.",
    "error.retryIn": "{who}ocupado — {message}. Vuelve a intentarlo en {seconds} s.",
    "error.invalid": "{who}datos no válidos: {message}",
    "error.invalidField": "{who}datos no válidos ({field}): {message}",
    "error.server": "{who}ha fallado: {message}",
    "error.cancelled": "Cancelado.",
    "error.noUrl.local": "No hay ninguna URL para el motor local.",
    "error.noUrl.cloud": "No hay ninguna URL para el motor en la nube.",
    "error.timeout.local": "El motor local no ha respondido en {seconds} s.",
    "error.timeout.cloud": "El motor en la nube no ha respondido en {seconds} s.",
    "error.cors.local":
      "El motor local de {base} funciona, pero no admite el origen de esta página ({origin}). " +
      "Añade {origin} a su ajuste ALLOW_ORIGINS.",
    "error.cors.cloud":
      "El motor en la nube de {base} funciona, pero no admite el origen de esta página ({origin}). " +
      "Añade {origin} a su ajuste ALLOW_ORIGINS.",
    "error.unreachable.local": "No se puede conectar con el motor local de {base}.",
    "error.unreachable.cloud": "No se puede conectar con el motor en la nube de {base}.",
    "error.noPrompt": "Describe primero un ambiente.",
    "error.noSelection": "Selecciona una o más imágenes para refinarlas.",
    "error.noRefinePrompt": "Di cómo refinarlas, por ejemplo «más oscuro, más neón».",
    "error.nothingToDownload": "Selecciona las imágenes que quieres descargar.",
    "error.nothingToSave": "Todavía no hay nada que guardar.",

    "board.addSelected": "Añadir la selección al tablero",
    "board.heading": "Tablero",
    "board.pick": "Tus tableros",
    "board.new": "Nuevo tablero",
    "board.delete": "Borrar tablero",
    "board.untitled": "Tablero sin título",
    "board.option": "{title} ({count})",
    "board.title": "Título",
    "board.titlePlaceholder": "Tokio con lluvia",
    "board.layout": "Disposición",
    "board.layout.grid": "Cuadrícula",
    "board.layout.masonry": "Mosaico",
    "board.layout.hero": "Una grande y otras pequeñas",
    "board.note": "Nota",
    "board.notePlaceholder": "Para qué es el tablero, qué conservar",
    "board.empty": "Añade imágenes con «Añadir la selección al tablero» o con el + de una imagen de la galería.",
    "board.help": "Arrastra las imágenes para ordenarlas, o enfoca una y pulsa Alt + una flecha; Supr la quita.",
    "board.list": "Imágenes del tablero",
    "board.tile": "Imagen {n} de {total}: {prompt}",
    "board.remove": "Quitar la imagen {n} del tablero",
    "board.moved": "Movida a la posición {n} de {total}",
    "board.removed": "Imagen quitada; quedan {total}",
    "board.imported": "Importado «{title}»",
    "board.palette": "Paleta del tablero",
    "board.paletteGroup": "Colores del tablero",
    "board.css": "Variables CSS",
    "board.copyCss": "Copiar las variables CSS",
    "board.cssCopied": "Variables CSS copiadas",
    "board.cssNotCopied": "No se pudieron copiar las variables CSS",
    "board.swatches": "Tira de la paleta (PNG)",
    "board.png": "Exportar PNG",
    "board.pdf": "Exportar PDF",
    "board.export": "Exportar archivo del tablero",
    "board.import": "Importar archivo de tablero",
    "board.working": "Dibujando el tablero…",
    "gallery.add": "Añadir la imagen guardada {n} de «{prompt}» al tablero",
    "gallery.addShort": "+ tablero",
    "error.boardFile.notJson": "«{name}» no se puede abrir como tablero: no es JSON.",
    "error.boardFile.notBoard": "«{name}» no se puede abrir como tablero: no es un archivo de tablero de Aura Reflect.",
    "error.boardFile.version": "«{name}» no se puede abrir como tablero: viene de un estudio más reciente.",
    "error.boardFile.imageCount": "«{name}» no se puede abrir como tablero: un tablero tiene de 1 a 24 imágenes.",
    "error.boardFile.badImage": "«{name}» no se puede abrir como tablero: una de sus imágenes no es un PNG.",
    "error.noBoardSelection": "Selecciona las imágenes que quieres añadir al tablero.",
    "error.boardFull": "Un tablero tiene como mucho {max} imágenes.",
    "error.boardEmpty": "Añade primero imágenes al tablero.",
  },
};

export const LANGUAGES = Object.keys(STRINGS);
const STORAGE_KEY = "aura.lang";

// The remembered choice, else the browser's language, else English.
function initialLanguage() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    /* storage blocked: follow the browser */
  }
  if (saved && STRINGS[saved]) return saved;
  const browser = (navigator.language || "").toLowerCase();
  return browser.startsWith("es") ? "es" : "en";
}

let current = initialLanguage();

export function language() {
  return current;
}

// The string for `key` in the current language, {name} placeholders filled from `params`.
export function t(key, params = {}) {
  const template = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

// Translate every marked element under `root`, and the page's lang and title.
export function applyTranslations(root = document) {
  document.documentElement.lang = current;
  document.title = t("page.title");
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const [data, attribute] of [["i18nPlaceholder", "placeholder"], ["i18nAriaLabel", "aria-label"], ["i18nTitle", "title"]]) {
    const selector = `[data-${data.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`;
    for (const el of root.querySelectorAll(selector)) el.setAttribute(attribute, t(el.dataset[data]));
  }
}

// Switch language: remembered in localStorage; the caller re-renders what it builds itself.
export function setLanguage(lang) {
  if (!STRINGS[lang]) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    /* not remembered, still switched */
  }
  applyTranslations();
}
