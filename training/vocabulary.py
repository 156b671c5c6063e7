"""The mood vocabulary of aura-tiny: every word the world draws, what it means, and its Spanish.

Each table maps a key to its visual meaning and to the words that say it, English first, then
Spanish (with accents; the world also writes them without, as people type). ``world.py`` reads these
tables to draw and to caption; ``docs/models.md`` prints them (``python -m training.vocabulary``).
Nothing here is a branch: a new word is a new row.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[float, float, float]


# --- colours ---------------------------------------------------------------------------------
NEUTRAL_FAMILIES = ("black", "white", "grey")


@dataclass(frozen=True)
class Colour:
    rgb: RGB
    families: tuple[str, ...]  # the hue families a person would accept by eye (eval's pixel classes)
    en: tuple[str, ...]
    es: tuple[str, ...]

    @property
    def neutral(self) -> bool:
        """Black, white and the greys (silver, charcoal): no hue, so no modifier and no cast."""
        return self.families[0] in NEUTRAL_FAMILIES


def _c(rgb, families, en, es) -> Colour:
    return Colour(rgb, tuple(families.split()), tuple(en.split(",")), tuple(es.split(",")))


COLOURS: dict[str, Colour] = {
    "red": _c((0.86, 0.10, 0.10), "red", "red", "rojo,roja"),
    "orange": _c((0.96, 0.50, 0.08), "orange", "orange", "naranja,anaranjado"),
    "yellow": _c((0.96, 0.86, 0.14), "yellow", "yellow", "amarillo,amarilla"),
    "green": _c((0.14, 0.64, 0.20), "green", "green", "verde"),
    "blue": _c((0.12, 0.30, 0.88), "blue", "blue", "azul"),
    "purple": _c((0.55, 0.20, 0.85), "purple", "purple", "morado,morada,púrpura"),
    "pink": _c((0.95, 0.45, 0.78), "pink", "pink", "rosa,rosado,rosada"),
    "black": _c((0.04, 0.04, 0.05), "black", "black", "negro,negra"),
    "white": _c((0.96, 0.96, 0.96), "white", "white", "blanco,blanca"),
    "grey": _c((0.50, 0.50, 0.52), "grey", "grey,gray", "gris"),
    "brown": _c((0.45, 0.27, 0.12), "brown", "brown", "marrón,café"),
    "beige": _c((0.88, 0.80, 0.64), "beige", "beige", "beige,beis"),
    "cream": _c((0.97, 0.92, 0.78), "beige white", "cream", "crema"),
    "ivory": _c((0.97, 0.95, 0.86), "white beige", "ivory", "marfil"),
    "gold": _c((0.88, 0.68, 0.12), "yellow orange brown", "gold,golden", "dorado,dorada,oro"),
    "silver": _c((0.75, 0.76, 0.78), "grey white", "silver", "plateado,plateada,plata"),
    "teal": _c((0.02, 0.52, 0.52), "cyan", "teal", "verde azulado,cerceta"),
    "turquoise": _c((0.16, 0.82, 0.76), "cyan", "turquoise", "turquesa"),
    "cyan": _c((0.05, 0.82, 0.92), "cyan", "cyan", "cian"),
    "aqua": _c((0.35, 0.90, 0.86), "cyan", "aqua", "aguamarina"),
    "navy": _c((0.06, 0.10, 0.42), "blue", "navy", "azul marino"),
    "cobalt": _c((0.02, 0.26, 0.70), "blue", "cobalt", "cobalto"),
    "sapphire": _c((0.07, 0.32, 0.74), "blue", "sapphire", "zafiro"),
    "azure": _c((0.22, 0.58, 0.98), "blue", "azure,sky blue", "celeste"),
    "indigo": _c((0.30, 0.08, 0.60), "purple blue", "indigo", "índigo,añil"),
    "violet": _c((0.58, 0.18, 0.92), "purple", "violet", "violeta"),
    "lavender": _c((0.72, 0.62, 0.92), "purple", "lavender", "lavanda"),
    "lilac": _c((0.80, 0.62, 0.88), "purple pink", "lilac", "lila"),
    "plum": _c((0.52, 0.20, 0.50), "purple pink", "plum", "ciruela"),
    "magenta": _c((0.90, 0.10, 0.78), "pink purple", "magenta", "magenta"),
    "fuchsia": _c((0.96, 0.12, 0.62), "pink", "fuchsia", "fucsia"),
    "maroon": _c((0.50, 0.04, 0.06), "red brown", "maroon", "granate"),
    "burgundy": _c((0.55, 0.05, 0.16), "red", "burgundy", "burdeos,borgoña"),
    "crimson": _c((0.84, 0.08, 0.22), "red", "crimson", "carmesí"),
    "scarlet": _c((0.98, 0.16, 0.04), "red", "scarlet", "escarlata"),
    "ruby": _c((0.80, 0.06, 0.22), "red", "ruby", "rubí"),
    "coral": _c((1.00, 0.50, 0.32), "orange red pink", "coral", "coral"),
    "peach": _c((1.00, 0.70, 0.50), "orange beige", "peach", "melocotón,durazno"),
    "salmon": _c((0.98, 0.55, 0.45), "orange red pink", "salmon", "salmón"),
    "mint": _c((0.58, 0.94, 0.72), "green cyan", "mint", "menta,verde menta"),
    "lime": _c((0.62, 0.94, 0.12), "green", "lime", "lima,verde lima"),
    "olive": _c((0.42, 0.48, 0.12), "green yellow brown", "olive", "oliva,verde oliva"),
    "emerald": _c((0.06, 0.62, 0.36), "green", "emerald", "esmeralda"),
    "sage": _c((0.56, 0.68, 0.50), "green", "sage", "salvia,verde salvia"),
    "rust": _c((0.72, 0.26, 0.06), "orange red brown", "rust", "óxido,color óxido"),
    "terracotta": _c((0.80, 0.40, 0.26), "orange red brown", "terracotta", "terracota"),
    "ochre": _c((0.80, 0.52, 0.12), "orange yellow brown", "ochre", "ocre"),
    "copper": _c((0.74, 0.44, 0.20), "orange brown", "copper", "cobre"),
    "mustard": _c((0.88, 0.70, 0.10), "yellow", "mustard", "mostaza"),
    "amber": _c((1.00, 0.64, 0.02), "orange yellow brown", "amber", "ámbar"),
    "khaki": _c((0.76, 0.70, 0.48), "beige yellow", "khaki", "caqui"),
    "charcoal": _c((0.20, 0.21, 0.23), "grey black", "charcoal", "carbón,gris carbón"),
}


# --- colour modifiers: how a named colour is changed ("pale pink", "rosa pálido") -------------
@dataclass(frozen=True)
class Modifier:
    lift: float = 0.0  # mix towards white (>0) or black (<0)
    saturation: float = 1.0  # scale of the colour's saturation (HSV); >1 saturates, to 1.0 at most
    en: tuple[str, ...] = ()
    es: tuple[str, ...] = ()


def _m(lift, saturation, en, es) -> Modifier:
    return Modifier(lift, saturation, tuple(en.split(",")), tuple(es.split(",")))


MODIFIERS: dict[str, Modifier] = {
    "light": _m(0.35, 0.9, "light", "claro,clara"),
    "dark": _m(-0.5, 1.0, "dark", "oscuro,oscura"),
    "deep": _m(-0.35, 1.1, "deep", "profundo,profunda,intenso"),
    "pale": _m(0.5, 0.6, "pale", "pálido,pálida"),
    "soft": _m(0.25, 0.75, "soft", "suave"),
    "pastel": _m(0.42, 0.7, "pastel", "pastel"),
    "neon": _m(0.0, 9.0, "neon", "neón,fluorescente"),
    "muted": _m(-0.05, 0.45, "muted", "apagado,apagada"),
    "vivid": _m(0.0, 1.6, "vivid", "vivo,viva,vívido"),
    "faded": _m(0.3, 0.5, "faded", "desvaído,descolorido"),
}


# --- grades: words about the whole picture's light and palette --------------------------------
@dataclass(frozen=True)
class Grade:
    """Applied to the finished picture, summed over every grade a scene has, then clamped.

    value: brightness (-1 dark … +1 light); saturation: (-1 grey … +1 vivid); temperature:
    (-1 cool … +1 warm); contrast: (-1 flat … +1 punchy); glow: a soft light bloom.
    """

    value: float = 0.0
    saturation: float = 0.0
    temperature: float = 0.0
    contrast: float = 0.0
    glow: float = 0.0
    en: tuple[str, ...] = ()
    es: tuple[str, ...] = ()


DRAINED = -0.5  # summed saturation at or below which grades drain colour (monochrome, washed-out)


def _g(en, es, **effect) -> Grade:
    return Grade(**effect, en=tuple(en.split(",")), es=tuple(es.split(",")))


GRADES: dict[str, Grade] = {
    "warm": _g("warm", "cálido,cálida", temperature=1.0),
    "cool": _g("cool,cold", "frío,fría,fresco", temperature=-1.0),
    "earthy": _g("earthy", "terroso,terrosa", saturation=-0.4, temperature=0.6, value=-0.2),
    "monochrome": _g("monochrome,monochromatic", "monocromo,monocromático", saturation=-1.0),
    "high-contrast": _g("high-contrast,contrasty", "contrastado,alto contraste", contrast=1.0, saturation=0.3),
    "moody": _g("moody", "sombrío,sombría", value=-0.6, saturation=-0.4, contrast=0.3),
    "airy": _g("airy", "aireado,diáfano", value=0.7, saturation=-0.3, contrast=-0.4),
    "bright": _g("bright", "luminoso,luminosa,brillante", value=0.4, saturation=0.5),
    "dim": _g("dim", "tenue,penumbra", value=-0.7),
    "dark": _g("dark", "oscuro,oscura", value=-0.8),
    "light": _g("light", "claro,clara,luz", value=0.6),
    "soft": _g("soft", "suave", contrast=-0.5, saturation=-0.1, value=0.2),
    "glowing": _g("glowing,glow", "resplandeciente,brillo", glow=1.0, temperature=0.4),
    "washed-out": _g("washed-out,washed out", "deslavado,lavado", value=0.4, saturation=-0.8, contrast=-0.6),
    "pastel": _g("pastel", "pastel", value=0.5, saturation=-0.2),
    "neon": _g("neon", "neón", saturation=1.0, contrast=0.5, glow=0.6),
    "muted": _g("muted", "apagado,apagada", saturation=-0.7),
    "vivid": _g("vivid,colorful,saturated", "vivo,colorido,colorida,saturado", saturation=1.0),
    "faded": _g("faded", "desvaído,descolorido", saturation=-0.5, value=0.3, contrast=-0.3),
    "gloomy": _g("gloomy", "lúgubre", value=-0.6, saturation=-0.5, temperature=-0.3),
}


# --- times of day ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Time:
    sky_top: RGB
    sky_bottom: RGB
    light: float  # brightness of everything lit by the sky (1 = daylight)
    sun: float | None  # height of the sun's disc (0 top … 1 horizon), None = no sun
    night: bool
    en: tuple[str, ...]
    es: tuple[str, ...]


def _t(top, bottom, light, sun, night, en, es) -> Time:
    return Time(top, bottom, light, sun, night, tuple(en.split(",")), tuple(es.split(",")))


TIMES: dict[str, Time] = {
    "dawn": _t((0.42, 0.40, 0.62), (0.98, 0.72, 0.62), 0.8, 0.95, False, "dawn,daybreak", "alba,madrugada"),
    "sunrise": _t((0.50, 0.58, 0.82), (1.00, 0.70, 0.30), 0.9, 0.85, False, "sunrise", "amanecer,salida del sol"),
    "morning": _t((0.45, 0.66, 0.95), (0.82, 0.90, 0.98), 1.0, 0.45, False, "morning", "mañana"),
    "noon": _t((0.18, 0.45, 0.92), (0.55, 0.78, 1.00), 1.1, 0.15, False, "noon,midday", "mediodía"),
    "afternoon": _t((0.35, 0.58, 0.90), (0.95, 0.88, 0.70), 1.0, 0.5, False, "afternoon", "tarde"),
    "golden hour": _t((0.72, 0.58, 0.42), (1.00, 0.78, 0.36), 0.95, 0.8, False, "golden hour", "hora dorada"),
    "sunset": _t((0.55, 0.22, 0.38), (1.00, 0.52, 0.12), 0.8, 0.9, False, "sunset,sundown", "atardecer,puesta de sol,ocaso"),
    "dusk": _t((0.16, 0.14, 0.36), (0.62, 0.34, 0.46), 0.55, None, False, "dusk,evening", "anochecer,crepúsculo"),
    "twilight": _t((0.08, 0.10, 0.32), (0.38, 0.30, 0.58), 0.45, None, False, "twilight,blue hour", "hora azul,ocaso azul"),
    "night": _t((0.02, 0.03, 0.10), (0.06, 0.08, 0.22), 0.35, None, True, "night,nighttime", "noche,nocturno"),
    "midnight": _t((0.00, 0.00, 0.03), (0.02, 0.03, 0.10), 0.25, None, True, "midnight", "medianoche"),
}


# --- seasons ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Season:
    foliage: RGB  # trees, fields, hills
    accent: RGB  # blossoms, fallen leaves, berries
    ground: RGB
    snow: bool
    grade: tuple[str, ...]  # grades the season brings
    en: tuple[str, ...]
    es: tuple[str, ...]


SEASONS: dict[str, Season] = {
    "spring": Season((0.45, 0.78, 0.32), (0.98, 0.66, 0.80), (0.40, 0.66, 0.28), False, ("light",),
                     ("spring", "springtime"), ("primavera", "primaveral")),
    "summer": Season((0.16, 0.62, 0.18), (0.98, 0.84, 0.14), (0.30, 0.62, 0.18), False, ("vivid", "bright"),
                     ("summer", "summertime"), ("verano", "veraniego")),
    "autumn": Season((0.86, 0.42, 0.08), (0.72, 0.14, 0.06), (0.50, 0.32, 0.14), False, ("warm",),
                     ("autumn", "fall", "autumnal"), ("otoño", "otoñal")),
    "winter": Season((0.28, 0.36, 0.34), (0.85, 0.90, 0.96), (0.92, 0.94, 0.97), True, ("cool",),
                     ("winter", "wintry"), ("invierno", "invernal")),
}


# --- weather ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Weather:
    overlay: str  # how it is drawn: rain, snow, fog, storm, clouds, haze, clear
    en: tuple[str, ...]
    es: tuple[str, ...]


WEATHER: dict[str, Weather] = {
    "rain": Weather("rain", ("rain", "rainy", "raining"), ("lluvia", "lluvioso", "lluviosa")),
    "snow": Weather("snow", ("snow", "snowy", "snowfall"), ("nieve", "nevado", "nevada")),
    "fog": Weather("fog", ("fog", "foggy"), ("niebla",)),
    "mist": Weather("mist", ("mist", "misty"), ("bruma", "neblina", "brumoso")),
    "storm": Weather("storm", ("storm", "stormy", "thunderstorm"), ("tormenta", "tormentoso")),
    "clouds": Weather("clouds", ("clouds", "cloudy", "overcast"), ("nubes", "nublado", "nubloso")),
    "haze": Weather("haze", ("haze", "hazy"), ("calima", "neblinoso")),
    "clear": Weather("clear", ("clear", "sunny", "clear sky"), ("despejado", "soleado", "cielo despejado")),
}


# --- places ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    layout: str  # the drawing in world.render
    family: str  # what the judge names (eval's scene check)
    en: tuple[str, ...]
    es: tuple[str, ...]


def _p(layout, family, en, es) -> Place:
    return Place(layout, family, tuple(en.split(",")), tuple(es.split(",")))


PLACES: dict[str, Place] = {
    "ocean": _p("ocean", "water", "ocean,sea,seascape,open sea,waves", "océano,mar,olas,mar abierto"),
    "coast": _p("coast", "water", "coast,coastline,shore,cliffs,bay", "costa,orilla,acantilados,bahía"),
    "beach": _p("beach", "beach", "beach,sandy beach,seaside", "playa,arena,playa de arena"),
    "lake": _p("lake", "water", "lake,pond,lakeside", "lago,laguna,estanque"),
    "river": _p("river", "water", "river,stream,riverbank", "río,arroyo"),
    "harbour": _p("harbour", "water", "harbour,harbor,port,marina,boats", "puerto,muelle,barcos"),
    "island": _p("island", "water", "island,islet", "isla,islote"),
    "mountains": _p("mountains", "mountains", "mountains,mountain,mountain range,peaks,alps",
                    "montañas,montaña,cordillera,picos"),
    "hills": _p("hills", "mountains", "hills,rolling hills,valley,countryside", "colinas,lomas,valle,campiña"),
    "canyon": _p("canyon", "mountains", "canyon,gorge,mesa", "cañón,barranco"),
    "forest": _p("forest", "forest", "forest,woods,pine forest,trees,woodland", "bosque,pinar,árboles,arboleda"),
    "jungle": _p("jungle", "forest", "jungle,rainforest,palms,palm trees", "selva,jungla,palmeras"),
    "desert": _p("desert", "desert", "desert,dunes,sand dunes", "desierto,dunas"),
    "city": _p("city", "city", "city,skyline,cityscape,downtown,skyscrapers,metropolis",
               "ciudad,rascacielos,centro,metrópolis"),
    "street": _p("street", "city", "street,alley,avenue,town,rooftops,buildings",
                 "calle,callejón,avenida,pueblo,tejados,edificios"),
    "field": _p("field", "field", "field,fields,meadow,meadows,grassland,prairie,farmland", "campo,campos,pradera,prado"),
    "garden": _p("garden", "field", "garden,park,greenhouse", "jardín,parque,invernadero"),
    "flowers": _p("flowers", "field", "flowers,flower field,blossoms,tulips,roses,wildflowers",
                  "flores,campo de flores,tulipanes,rosas,flores silvestres"),
    "sky": _p("sky", "sky", "sky,skies,clouds above,horizon", "cielo,horizonte"),
    "sunset": _p("sunset", "sky", "sunset,sunset sky", "atardecer,puesta de sol"),
    "night": _p("night", "sky", "night sky,starry sky,stars,moon", "cielo nocturno,cielo estrellado,estrellas,luna"),
    "room": _p("room", "room", "room,interior,living room,bedroom,cabin,cafe,kitchen,window,wall,floor",
               "habitación,interior,salón,dormitorio,cabaña,cafetería,cocina,ventana,pared,suelo"),
    "rain": _p("rain", "rain", "rainy street,rainy day,rainfall", "calle lluviosa,día lluvioso"),
}
# The abstract motifs of the first world, kept with their grammar (the old evaluation still runs).
MOTIFS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "circle": (("circle", "disc", "round circle"), ("círculo", "disco")),
    "square": (("square", "box", "square block"), ("cuadrado", "caja")),
    "triangle": (("triangle", "triangular shape"), ("triángulo",)),
    "stripes": (("stripes", "striped pattern", "bands"), ("rayas", "franjas")),
    "gradient": (("gradient", "color gradient", "smooth gradient"), ("degradado", "gradiente")),
    "grid": (("grid", "grid pattern", "checked lines"), ("cuadrícula", "retícula")),
    "dots": (("dots", "polka dots", "dotted pattern"), ("puntos", "lunares")),
}
# Cities people name: each is drawn as a city (skyline or street).
CITIES: dict[str, str] = {
    "tokyo": "tokio", "paris": "parís", "london": "londres", "new york": "nueva york", "berlin": "berlín",
    "madrid": "madrid", "barcelona": "barcelona", "seoul": "seúl", "hong kong": "hong kong", "rome": "roma",
    "lisbon": "lisboa", "kyoto": "kioto", "mexico city": "ciudad de méxico", "buenos aires": "buenos aires",
    "shanghai": "shanghái", "chicago": "chicago",
}


# --- moods and styles: a word that sets a whole palette ----------------------------------------
@dataclass(frozen=True)
class Style:
    colours: tuple[str, ...]  # the palette it draws with when no colour is named (COLOURS keys)
    grades: tuple[str, ...]  # GRADES keys it applies
    time: str | None = None  # a time of day it brings, when none is named
    weather: str | None = None
    en: tuple[str, ...] = ()
    es: tuple[str, ...] = ()


def _s(colours, grades, en, es, time=None, weather=None) -> Style:
    return Style(tuple(colours.split()), tuple(grades.split()), time, weather, tuple(en.split(",")),
                 tuple(es.split(",")))


STYLES: dict[str, Style] = {
    "cozy": _s("amber brown orange", "warm dim glowing", "cozy,cosy,snug", "acogedor,acogedora"),
    "serene": _s("azure sage cream", "soft light", "serene", "sereno,serena"),
    "calm": _s("sage azure beige", "soft", "calm", "tranquilo,tranquila,calmado"),
    "peaceful": _s("mint azure cream", "soft light", "peaceful,tranquil", "apacible,pacífico,sosegado"),
    "melancholic": _s("grey navy charcoal", "muted dim cool", "melancholic,melancholy,sad,lonely",
                      "melancólico,melancólica,triste,solitario"),
    "romantic": _s("pink crimson peach", "soft glowing", "romantic,love", "romántico,romántica,amor"),
    "dreamy": _s("lavender pink aqua", "pastel soft glowing", "dreamy,ethereal,dreamlike", "onírico,soñador,etéreo"),
    "mysterious": _s("indigo navy teal", "dark moody", "mysterious,eerie", "misterioso,misteriosa", weather="mist"),
    "energetic": _s("orange yellow red", "vivid bright high-contrast", "energetic,vibrant,dynamic",
                    "enérgico,vibrante,dinámico"),
    "playful": _s("yellow pink cyan", "vivid bright", "playful,fun,whimsical", "juguetón,divertido,alegre"),
    "happy": _s("yellow orange azure", "bright warm", "happy,joyful,cheerful", "feliz,alegría,contento"),
    "elegant": _s("black gold ivory", "muted dark", "elegant,classy,sophisticated", "elegante,sofisticado"),
    "minimalist": _s("white beige grey", "light muted soft", "minimalist,minimal,clean,simple",
                     "minimalista,sencillo,limpio"),
    "scandinavian": _s("white beige sage", "light muted cool", "scandinavian,nordic,hygge", "escandinavo,nórdico"),
    "japanese": _s("crimson cream pink", "soft", "japanese,zen,wabi-sabi", "japonés,japonesa,zen"),
    "tropical": _s("turquoise lime yellow", "vivid bright warm", "tropical,exotic,paradise", "tropical,exótico,paraíso"),
    "mediterranean": _s("cobalt white terracotta", "bright warm", "mediterranean", "mediterráneo,mediterránea"),
    "cyberpunk": _s("magenta cyan violet", "neon dark", "cyberpunk,futuristic,sci-fi", "ciberpunk,futurista",
                    time="night"),
    "vaporwave": _s("pink cyan lavender", "pastel neon", "vaporwave,synthwave,80s", "vaporwave,ochentero"),
    "retro": _s("mustard orange brown", "faded warm", "retro,70s,groovy", "retro,setentero"),
    "vintage": _s("beige brown ochre", "faded warm", "vintage,old,antique,film", "antiguo,antigua,de época,analógico"),
    "nostalgic": _s("peach beige ochre", "faded warm soft", "nostalgic,memories", "nostálgico,nostálgica,recuerdos"),
    "rustic": _s("brown terracotta olive", "earthy warm", "rustic,farmhouse,country", "rústico,rústica,campestre"),
    "industrial": _s("charcoal grey rust", "muted cool", "industrial,urban,concrete",
                     "industrial,urbano,hormigón"),
    "luxurious": _s("gold black burgundy", "dark high-contrast", "luxurious,luxury,opulent,glamorous",
                    "lujoso,lujosa,lujo,opulento"),
    "gothic": _s("black crimson plum", "dark moody", "gothic,dark academia,haunted", "gótico,gótica,embrujado"),
    "bohemian": _s("terracotta mustard teal", "warm earthy", "bohemian,boho", "bohemio,bohemia"),
    "dramatic": _s("black crimson gold", "high-contrast dark", "dramatic,cinematic,epic", "dramático,cinematográfico,épico"),
    "fresh": _s("mint lime azure", "bright light", "fresh,crisp,clean air", "fresco,fresca,limpio aire"),
    "lush": _s("emerald green lime", "vivid", "lush,verdant,green paradise", "exuberante,frondoso"),
    "noir": _s("black grey white", "monochrome high-contrast dark", "noir,film noir", "cine negro,noir"),
}


# --- words with no picture of their own --------------------------------------------------------
# Known glue: the model sees them in training and learns they change nothing. The glue words of
# the first evaluation ("mostly", "image", "colored", "showing", "tones", "against", "behind",
# "canvas") are kept out, so that evaluation still measures words the model never saw.
GLUE_EN = ("mood", "vibe", "vibes", "aesthetic", "feel", "feeling", "atmosphere", "palette", "colors",
           "colours", "hues", "shades", "accents", "style", "scene", "view", "landscape", "photo", "picture",
           "moodboard", "inspiration", "with", "and", "in", "at", "on", "over", "under", "by", "near", "during",
           "the", "a", "an", "full of", "lots of", "very", "quiet", "little", "touch of", "hint of", "light")
GLUE_ES = ("ambiente", "estilo", "paleta", "colores", "tonos", "matices", "vista", "paisaje", "foto",
           "imagen", "inspiración", "con", "y", "en", "al", "de", "del", "la", "el", "las", "los", "un", "una",
           "sobre", "bajo", "junto a", "durante", "lleno de", "muy", "toque de", "luz")


def content_words(language: str) -> set[str]:
    """Every word of the vocabulary's entries in ``language`` ("en" or "es"), split on spaces."""
    entries: list[tuple[str, ...]] = []
    for table in (COLOURS, MODIFIERS, GRADES, TIMES, SEASONS, WEATHER, PLACES, STYLES):
        entries += [getattr(entry, language) for entry in table.values()]
    entries += [pair[0 if language == "en" else 1] for pair in MOTIFS.values()]
    entries.append(tuple(CITIES) if language == "en" else tuple(CITIES.values()))
    return {word for words in entries for phrase in words for word in phrase.split()}


def markdown_table() -> str:
    """The vocabulary as Markdown (docs/models.md)."""
    rows = ["| group | key | English | Spanish | meaning |", "| --- | --- | --- | --- | --- |"]
    for key, c in COLOURS.items():
        rgb = "#%02x%02x%02x" % tuple(round(v * 255) for v in c.rgb)
        rows.append(f"| colour | {key} | {', '.join(c.en)} | {', '.join(c.es)} | {rgb}, checked as {'/'.join(c.families)} |")
    for key, m in MODIFIERS.items():
        rows.append(f"| modifier | {key} | {', '.join(m.en)} | {', '.join(m.es)} | the colour mixed "
                    f"{'towards white' if m.lift > 0 else 'towards black' if m.lift < 0 else 'as is'} "
                    f"({m.lift:+.2f}), saturation ×{m.saturation:g} |")
    for key, g in GRADES.items():
        effect = ", ".join(f"{name} {getattr(g, name):+.1f}" for name in ("value", "saturation", "temperature",
                                                                         "contrast", "glow") if getattr(g, name))
        rows.append(f"| light & palette | {key} | {', '.join(g.en)} | {', '.join(g.es)} | {effect} |")
    for key, t in TIMES.items():
        sky = "#%02x%02x%02x → #%02x%02x%02x" % tuple(round(v * 255) for v in t.sky_top + t.sky_bottom)
        rows.append(f"| time | {key} | {', '.join(t.en)} | {', '.join(t.es)} | sky {sky}, light ×{t.light:g}"
                    f"{', sun' if t.sun is not None else ''}{', stars' if t.night else ''} |")
    for key, s in SEASONS.items():
        rows.append(f"| season | {key} | {', '.join(s.en)} | {', '.join(s.es)} | foliage "
                    f"#{''.join('%02x' % round(v * 255) for v in s.foliage)}{', snow' if s.snow else ''}, "
                    f"{' + '.join(s.grade)} |")
    for key, w in WEATHER.items():
        rows.append(f"| weather | {key} | {', '.join(w.en)} | {', '.join(w.es)} | {w.overlay} overlay |")
    for key, p in PLACES.items():
        rows.append(f"| place | {key} | {', '.join(p.en)} | {', '.join(p.es)} | drawn as {p.layout}, judged as {p.family} |")
    for key, (en, es) in MOTIFS.items():
        rows.append(f"| motif | {key} | {', '.join(en)} | {', '.join(es)} | abstract {key} |")
    rows.append(f"| place | cities | {', '.join(CITIES)} | {', '.join(CITIES.values())} | drawn as a city |")
    for key, s in STYLES.items():
        extra = "".join(f", {x}" for x in (s.time, s.weather) if x)
        rows.append(f"| mood & style | {key} | {', '.join(s.en)} | {', '.join(s.es)} | palette "
                    f"{', '.join(s.colours)}; {' + '.join(s.grades)}{extra} |")
    rows.append(f"| glue (no picture) | — | {', '.join(GLUE_EN)} | {', '.join(GLUE_ES)} | nothing |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
    print(f"\n{len(content_words('en'))} English content words, {len(content_words('es'))} Spanish")
