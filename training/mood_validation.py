"""A validation set built like the mood evaluation: other hand-written prompts, other seeds.

    python -m training.eval_moods --validation [--model DIR]

The mood evaluation (``eval_moods``) is the test: choosing a model or a setting by its score would
tune on it. These 96 prompts are for choosing (48 in English, 24 in Spanish, 24 English ones with two
unknown filler words), written the way people write moods as the evaluation's are, but none of them
an evaluation prompt or a training caption (``tests/test_training.py`` checks both), and drawn with
other seeds. They lean on the colours the evaluation names less (aqua, cobalt, lilac, maroon, ochre …),
so that a choice made here is not a choice of the evaluation's own colours. Written on 2026-12-06,
before any model was scored on them.
"""

from __future__ import annotations

from .eval_moods import MoodPrompt, _p

SEEDS = (55, 66, 77, 88)
FILLER_SEED = 2027

ENGLISH: list[MoodPrompt] = [
    _p("a slow sunday in a sage green kitchen", hues="sage", scene="room"),
    _p("foggy harbour at dawn", scene="water"),
    _p("hot pink neon signs in a rainy city at night", hues="pink", light="dark", scene="city"),
    _p("calm lilac evening sky", hues="lilac", scene="sky"),
    _p("a warm copper and cream living room", hues="copper", temp="warm", scene="room"),
    _p("deep cobalt ocean", hues="cobalt", scene="water"),
    _p("sleepy beige bedroom with soft light", hues="beige", light="light", scene="room"),
    _p("bright lime and white stripes", hues="lime", scene="abstract"),
    _p("dark maroon velvet room", hues="maroon", light="dark", scene="room"),
    _p("sunny aqua island", hues="aqua", scene="water"),
    _p("gloomy grey city in the rain", hues="grey", sat="muted", scene="city"),
    _p("scarlet poppies in a summer meadow", hues="scarlet", scene="field"),
    _p("a violet night over the mountains", hues="violet", light="dark", scene="mountains"),
    _p("khaki desert under a hazy sky", hues="khaki", scene="desert"),
    _p("ivory and gold elegant room", hues="ivory gold", scene="room"),
    _p("fuchsia flowers in the garden", hues="fuchsia", scene="field"),
    _p("quiet snowy forest at dusk", temp="cool", scene="forest"),
    _p("salmon clouds at sunrise", hues="salmon", scene="sky"),
    _p("faded ochre fields of late summer", hues="ochre", sat="muted", scene="field"),
    _p("electric blue cyberpunk alley", hues="blue", scene="city"),
    _p("ruby red romantic evening", hues="ruby", temp="warm"),
    _p("pale azure morning sky", hues="azure", light="light", scene="sky"),
    _p("plum and charcoal moody palette", hues="plum", light="dark"),
    _p("turquoise water on a white sand beach", hues="turquoise", scene="beach"),
    _p("earthy boho room in olive", hues="olive", scene="room"),
    _p("silver moonlight over a still lake", hues="silver", light="dark", scene="water"),
    _p("a lonely navy harbour at midnight", hues="navy", light="dark", scene="water"),
    _p("vibrant magenta sunset", hues="magenta", sat="vivid", scene="sky"),
    _p("soft pastel mint room", hues="mint", light="light", scene="room"),
    _p("autumn woods in rust and amber", hues="rust", temp="warm", scene="forest"),
    _p("stark black and white city", hues="black white", sat="muted", scene="city"),
    _p("warm golden wheat fields", hues="gold", temp="warm", scene="field"),
    _p("cold blue winter morning by the river", hues="blue", temp="cool", scene="water"),
    _p("yellow and blue playful grid", hues="yellow blue", scene="abstract"),
    _p("lush emerald valley", hues="emerald", scene="mountains"),
    _p("sapphire sea under a clear sky", hues="sapphire", scene="water"),
    _p("cozy brown leather armchair by the fire", hues="brown", temp="warm"),
    _p("cream and beige minimalist wall", hues="cream", light="light", scene="room"),
    _p("a crisp white winter landscape", hues="white", light="light", temp="cool"),
    _p("purple lavender fields in provence", hues="purple", scene="field"),
    _p("mediterranean blue and white town", hues="blue", scene="city"),
    _p("neon green gaming room at night", hues="green", light="dark", scene="room"),
    _p("washed-out pastel beach", sat="muted", light="light", scene="beach"),
    _p("dramatic red sky before a storm", hues="red", scene="sky"),
    _p("peaceful green hills in spring", hues="green", scene="mountains"),
    _p("noir city street in grey", hues="grey", sat="muted", light="dark", scene="city"),
    _p("orange glow of a desert dusk", hues="orange", temp="warm", scene="desert"),
    _p("gothic violet cathedral at night", hues="violet", light="dark"),
]
SPANISH: list[MoodPrompt] = [
    _p("cocina acogedora color salvia", "es", hues="sage", scene="room"),
    _p("puerto con niebla al amanecer", "es", scene="water"),
    _p("cielo lila en una tarde tranquila", "es", hues="lilac", scene="sky"),
    _p("océano azul cobalto profundo", "es", hues="cobalt", scene="water"),
    _p("dormitorio beige con luz suave", "es", hues="beige", light="light", scene="room"),
    _p("habitación granate oscura", "es", hues="maroon", light="dark", scene="room"),
    _p("ciudad gris y lluviosa", "es", hues="grey", sat="muted", scene="city"),
    _p("amapolas escarlata en un prado de verano", "es", hues="scarlet", scene="field"),
    _p("noche violeta sobre las montañas", "es", hues="violet", light="dark", scene="mountains"),
    _p("desierto caqui bajo un cielo brumoso", "es", hues="khaki", scene="desert"),
    _p("flores fucsia en el jardín", "es", hues="fuchsia", scene="field"),
    _p("campos ocre y descoloridos", "es", hues="ochre", sat="muted", scene="field"),
    _p("cielo celeste por la mañana", "es", hues="azure", light="light", scene="sky"),
    _p("agua turquesa en una playa de arena blanca", "es", hues="turquoise", scene="beach"),
    _p("puerto azul marino a medianoche", "es", hues="navy", light="dark", scene="water"),
    _p("atardecer magenta vibrante", "es", hues="magenta", sat="vivid", scene="sky"),
    _p("bosque de otoño en óxido y ámbar", "es", hues="rust", temp="warm", scene="forest"),
    _p("ciudad en blanco y negro", "es", hues="black white", sat="muted", scene="city"),
    _p("campos dorados y cálidos", "es", hues="gold", temp="warm", scene="field"),
    _p("mañana fría y azul junto al río", "es", hues="blue", temp="cool", scene="water"),
    _p("valle esmeralda exuberante", "es", hues="emerald", scene="mountains"),
    _p("pueblo mediterráneo azul y blanco", "es", hues="blue", scene="city"),
    _p("cielo rojo y dramático antes de la tormenta", "es", hues="red", scene="sky"),
    _p("colinas verdes en primavera", "es", hues="green", scene="mountains"),
]
