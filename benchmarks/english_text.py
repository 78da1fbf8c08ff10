"""Real English prose for the benchmarks (written for qtcore; no download at run time)."""

PARAGRAPHS = [
    "The lighthouse at the end of the harbour wall was built in 1874, after a winter storm "
    "drove three fishing boats onto the rocks within a single night. For almost a century a "
    "keeper lived in the narrow tower, climbing ninety-one steps several times a night to "
    "trim the wick and wind the clockwork that turned the lens. The last keeper left in "
    "1968, when the light was automated, but the town still keeps his logbooks in the "
    "library. They record the weather every four hours, the ships that passed, and, now and "
    "then, a line about a seal on the slipway or a child who came to ask about the lamp.",
    "Bread is one of the oldest prepared foods. A simple loaf needs only flour, water, salt "
    "and yeast, yet the same four ingredients can give a dense rye, an airy baguette or a "
    "soft sandwich loaf. What changes is time and temperature. A slow, cool fermentation "
    "lets enzymes break starch into sugars and gives the yeast and bacteria time to produce "
    "the acids and aromas that make a crust taste of something. Bakers who work through the "
    "night are not only keeping early hours for their customers; they are giving the dough "
    "the hours it needs.",
    "When the committee met on Tuesday, the first item on the agenda was the bus timetable. "
    "Several residents had written to say that the last service from the station left ten "
    "minutes before the evening train arrived, so anyone coming home from the city had to "
    "walk or call a taxi. The transport officer explained that the timetable had been "
    "written before the railway changed its schedule in the spring. She agreed to ask the "
    "operator whether the final bus could wait for the train, and promised a reply before "
    "the next meeting.",
    "Glaciers move. Although they look like rivers of solid ice frozen in place, the weight "
    "of the ice makes it deform and slide over the rock beneath, and a large valley glacier "
    "may advance tens of metres in a year. As it moves it plucks stones from the valley "
    "floor and drags them along, grinding the bedrock into fine flour that turns meltwater "
    "streams a milky blue. When the climate warms and the glacier retreats, it leaves behind "
    "the things it carried: ridges of gravel, scattered boulders far from their source, and "
    "lakes dammed by the debris.",
    "My grandmother kept a notebook of recipes that she had collected from neighbours, "
    "newspapers and the backs of flour packets. Many of the pages are stained, and some of "
    "the instructions assume knowledge that nobody has any more: a moderate oven, a teacup "
    "of sugar, butter the size of an egg. Cooking from it is partly a matter of guessing. "
    "Last winter I tried her apple cake three times before it came out the way I remembered "
    "it, and the difference in the end was simply that she had used a smaller tin.",
    "Learning a second language as an adult is slow, and most of the progress is invisible "
    "while it happens. For months the words of a conversation rush past as a single stream "
    "of sound. Then, one day, a phrase separates itself from the noise and you understand it "
    "without translating. Teachers often say that the most useful habit is to listen every "
    "day, even for a few minutes, and to stop worrying about mistakes. People are usually "
    "patient with someone who is trying, and a wrong word is better than silence.",
]
