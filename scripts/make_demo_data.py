"""Build the offline demo data shipped in ``sfdpo_helpers/demo_data``.

    python scripts/make_demo_data.py            # rewrite the five files (deterministic)
    python scripts/make_demo_data.py --out DIR  # write them somewhere else

Every prompt is a small task from one of the study's ten categories plus one to three
verifiable instructions in IFEval's schema (``instruction_id_list`` + ``kwargs``). Every
response is *built*, never sampled from a model: the script takes a hand-written answer (a
few short sentences, steps or verse lines from the banks below; math and some
classification answers are computed) and transforms it until it satisfies each instruction
(lowercase, word limits, bullets, JSON, quotes, P.S., sections, no commas, ...). A rejected
response is the same answer with one instruction broken (a forgotten P.S., a comma, the
wrong bullet count, too long, ...), or an off-topic, rambling or evasive reply. The reserve
pool (``prompt_pool.jsonl``) holds prompts only, from topics kept out of every other split. The script
checks all of this with its own copy of IFEval's rules, made a little stricter than IFEval
(word counts must hold both for ``\\w+`` tokens and whitespace tokens, keywords must match
both as substrings and as whole words, ...), so that any faithful IFEval judge agrees.

The output depends only on this file and ``langdetect`` (IFEval's case checks require English
as detected by it, so answers in capitals are screened with it). The optional cross-checks
(``sfdpo_helpers.judges``, the real IFEval prompts in ``../shared``) only report, never choose.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import json
import math
import random
import re
import statistics
import sys
from pathlib import Path

SEED = 20250101
REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "sfdpo_helpers" / "demo_data"
IFEVAL_DEV = REPO.parent / "shared" / "data" / "ifeval" / "ifeval_dev.jsonl"

CATEGORIES = [
    "math_reasoning",
    "general_knowledge",
    "science_explanation",
    "creative_writing",
    "professional_writing",
    "instructions_procedures",
    "multilingual",
    "open_discussion",
    "imitation_writing",
    "classification",
]
PER_CATEGORY = {"sft": 100, "pairs": 100, "eval": 25}

# ======================================================================================
# Fact banks. Sentences are short, end with . ! or ?, carry no inner full stops, and use
# commas only inside lists ("A, B, and C") so that a no-comma version can be made.
# Each entry: (title, [task phrasings], [answer sentences / steps / verse lines]).
# ======================================================================================

GENERAL_KNOWLEDGE = [
    (
        "The Capital of Australia",
        ["What is the capital of Australia?", "Which city is the capital of Australia and why was it chosen?"],
        [
            "The capital of Australia is Canberra.",
            "Many people guess Sydney because it is the largest city.",
            "Canberra was chosen as a compromise between Sydney and Melbourne.",
            "The city was planned from scratch in the early twentieth century.",
            "Parliament House in Canberra is where the national government meets.",
        ],
    ),
    (
        "The Great Wall of China",
        ["Tell me about the Great Wall of China.", "Why was the Great Wall of China built?"],
        [
            "The Great Wall of China is a series of walls built over many centuries.",
            "Most of the wall that tourists visit today was built during the Ming dynasty.",
            "It was built to protect the northern borders from raids.",
            "The whole network stretches for thousands of kilometres.",
            "Despite a popular myth it cannot be seen with the naked eye from the Moon.",
        ],
    ),
    (
        "The Largest Ocean",
        ["Which is the largest ocean on Earth?", "Give me a few facts about the Pacific Ocean."],
        [
            "The Pacific Ocean is the largest ocean on Earth.",
            "It covers about one third of the planet's surface.",
            "It is larger than all the land on Earth put together.",
            "The Mariana Trench in the Pacific is the deepest known point in the ocean.",
            "Its name comes from a word meaning peaceful.",
        ],
    ),
    (
        "Who Painted the Mona Lisa",
        ["Who painted the Mona Lisa?", "Tell me a little about the painter of the Mona Lisa."],
        [
            "Leonardo da Vinci painted the Mona Lisa.",
            "He worked on it in the early sixteenth century.",
            "The painting hangs in the Louvre museum in Paris.",
            "It is famous for the calm and mysterious smile of its subject.",
            "Leonardo was also an inventor and a keen student of anatomy.",
        ],
    ),
    (
        "The Planets of the Solar System",
        ["How many planets are in the solar system?", "List the planets of the solar system in order."],
        [
            "The solar system has eight planets.",
            "In order from the Sun they are Mercury, Venus, Earth, Mars, Jupiter, Saturn, Uranus, and Neptune.",
            "The first four are small rocky worlds.",
            "The outer four are giants made mostly of gas or ice.",
            "Pluto was reclassified as a dwarf planet in 2006.",
        ],
    ),
    (
        "Romeo and Juliet",
        ["Who wrote Romeo and Juliet?", "What is Romeo and Juliet about?"],
        [
            "William Shakespeare wrote Romeo and Juliet.",
            "The play was probably written in the middle of the 1590s.",
            "It tells the story of two young lovers from feuding families in Verona.",
            "Their secret marriage ends in tragedy.",
            "It is still one of the most performed plays in the world.",
        ],
    ),
    (
        "The Longest River",
        ["What is the longest river in the world?", "Is the Nile or the Amazon the longer river?"],
        [
            "The Nile is usually listed as the longest river in the world.",
            "It runs for about 6650 kilometres.",
            "Some researchers argue the Amazon is slightly longer depending on where its source is measured.",
            "The Amazon carries far more water than any other river.",
            "The Nile flows north into the Mediterranean Sea.",
        ],
    ),
    (
        "The End of World War II",
        ["When did World War II end?", "How did the Second World War come to an end?"],
        [
            "World War II ended in 1945.",
            "Germany surrendered in May 1945.",
            "Japan surrendered in August 1945 after the atomic bombings of Hiroshima and Nagasaki.",
            "The formal Japanese surrender was signed on 2 September 1945.",
            "The United Nations was founded later that same year.",
        ],
    ),
    (
        "The First Olympic Games",
        ["Where did the Olympic Games begin?", "Tell me about the origins of the Olympic Games."],
        [
            "The ancient Olympic Games began at Olympia in Greece.",
            "The traditional start date is 776 BC.",
            "They were held every four years in honour of Zeus.",
            "The modern Olympics were revived in Athens in 1896.",
            "Pierre de Coubertin led the effort to bring the games back.",
        ],
    ),
    (
        "The Highest Mountain",
        ["What is the highest mountain in the world?", "Give me some facts about Mount Everest."],
        [
            "Mount Everest is the highest mountain above sea level.",
            "Its summit is about 8849 metres high.",
            "It sits on the border between Nepal and China.",
            "Edmund Hillary and Tenzing Norgay first reached the top in 1953.",
            "Mauna Kea is taller from base to peak but most of it is underwater.",
        ],
    ),
    (
        "Bones in the Human Body",
        ["How many bones are in the adult human body?", "Do babies have more bones than adults?"],
        [
            "An adult human skeleton has 206 bones.",
            "Babies are born with around 270 bones and bone parts.",
            "Many of these fuse together as a child grows.",
            "The femur in the thigh is the longest bone.",
            "The stapes in the middle ear is the smallest bone.",
        ],
    ),
    (
        "The Printing Press",
        ["Who invented the printing press?", "Why was the printing press so important?"],
        [
            "Johannes Gutenberg developed a printing press with movable metal type around 1440.",
            "He worked in Mainz in what is now Germany.",
            "His most famous work is the Gutenberg Bible.",
            "The press made books much cheaper and faster to produce.",
            "It helped spread new ideas across Europe.",
        ],
    ),
    (
        "The Sahara Desert",
        ["How big is the Sahara desert?", "Tell me some facts about the Sahara."],
        [
            "The Sahara is the largest hot desert in the world.",
            "It covers much of North Africa.",
            "It is roughly the size of the United States.",
            "Only a small part of it is covered by sand dunes.",
            "Thousands of years ago parts of the Sahara were green with lakes and grassland.",
        ],
    ),
    (
        "The Currency of Japan",
        ["What currency is used in Japan?", "Tell me about the Japanese yen."],
        [
            "The currency of Japan is the yen.",
            "The yen was introduced in 1871.",
            "Coins and notes range from one yen to ten thousand yen.",
            "Japan still uses cash more often than many other rich countries.",
            "The yen is one of the most traded currencies in the world.",
        ],
    ),
    (
        "The First Moon Landing",
        ["Who were the first people to land on the Moon?", "Tell me about the Apollo 11 mission."],
        [
            "The first crewed Moon landing was Apollo 11 in July 1969.",
            "Neil Armstrong was the first person to step onto the surface.",
            "Buzz Aldrin joined him shortly afterwards.",
            "Michael Collins stayed in orbit in the command module.",
            "The astronauts brought back rock samples for scientists to study.",
        ],
    ),
    (
        "The Amazon Rainforest",
        ["Why is the Amazon rainforest important?", "Where is the Amazon rainforest?"],
        [
            "The Amazon is the largest tropical rainforest on Earth.",
            "Most of it lies in Brazil.",
            "It is home to around one in ten known species.",
            "Its trees store huge amounts of carbon.",
            "Clearing land for farming and logging is a major threat to it.",
        ],
    ),
    (
        "The Most Spoken Languages",
        ["Which language has the most native speakers?", "What are the most spoken languages in the world?"],
        [
            "Mandarin Chinese has the most native speakers in the world.",
            "Spanish comes second by number of native speakers.",
            "English has the most speakers overall when second language learners are counted.",
            "Hindi and Arabic are also among the most spoken languages.",
            "These rankings slowly change as populations grow.",
        ],
    ),
    (
        "The Invention of the Telephone",
        ["Who invented the telephone?", "How did the telephone come about?"],
        [
            "Alexander Graham Bell received the first patent for the telephone in 1876.",
            "His famous first call was to his assistant Thomas Watson.",
            "Other inventors such as Elisha Gray were working on similar devices.",
            "Bell was also a teacher of deaf students.",
            "The telephone spread quickly across cities in the following decades.",
        ],
    ),
    (
        "The Seven Continents",
        ["How many continents are there?", "Name the continents and tell me which is largest."],
        [
            "There are seven continents in the most common model.",
            "They are Africa, Antarctica, Asia, Australia, Europe, North America, and South America.",
            "Asia is the largest by area and by population.",
            "Australia is the smallest continent.",
            "Antarctica has no permanent residents.",
        ],
    ),
    (
        "The Eiffel Tower",
        ["When was the Eiffel Tower built?", "Tell me some facts about the Eiffel Tower."],
        [
            "The Eiffel Tower stands in Paris.",
            "It was completed in 1889 for a world fair.",
            "The company of Gustave Eiffel designed and built it.",
            "It is about 330 metres tall including its antennas.",
            "Many critics disliked it at first but it became a symbol of France.",
        ],
    ),
    (
        "The Fall of Rome",
        ["When did the Roman Empire fall?", "What happened at the end of the Western Roman Empire?"],
        [
            "The Western Roman Empire is usually said to have fallen in 476 AD.",
            "That year the last western emperor was removed from power.",
            "The Eastern Roman Empire continued for almost a thousand more years.",
            "It ended when Constantinople fell to the Ottomans in 1453.",
            "Historians point to many causes including money troubles and invasions.",
        ],
    ),
    (
        "The Blue Whale",
        ["What is the largest animal on Earth?", "Tell me about the blue whale."],
        [
            "The blue whale is the largest animal known to have lived.",
            "It can grow to around 30 metres long.",
            "Its heart alone is about the size of a small car.",
            "It feeds mainly on tiny shrimp-like animals called krill.",
            "Blue whales were hunted close to extinction in the twentieth century.",
        ],
    ),
    (
        "The Great Pyramid of Giza",
        ["Who built the Great Pyramid of Giza?", "Give me a few facts about the Great Pyramid."],
        [
            "The Great Pyramid of Giza was built for the pharaoh Khufu.",
            "It was finished around 2560 BC.",
            "It was the tallest human-made structure for nearly four thousand years.",
            "Workers moved millions of stone blocks to build it.",
            "It is the only one of the Seven Wonders of the Ancient World still standing.",
        ],
    ),
    (
        "The Nobel Prize",
        ["Who started the Nobel Prize?", "What are the Nobel Prizes awarded for?"],
        [
            "The Nobel Prizes were created by the will of Alfred Nobel.",
            "Nobel was a Swedish chemist who invented dynamite.",
            "The first prizes were awarded in 1901.",
            "Prizes are given for physics, chemistry, medicine, literature, and peace.",
            "A prize in economics was added in 1968.",
        ],
    ),
]

SCIENCE = [
    (
        "How Photosynthesis Works",
        ["Explain how photosynthesis works.", "How do plants make their own food?"],
        [
            "Photosynthesis is how plants make food from light.",
            "Leaves absorb sunlight with a green pigment called chlorophyll.",
            "The plant takes in carbon dioxide from the air and water from the soil.",
            "Light energy turns these into glucose and oxygen.",
            "The oxygen is released into the air for animals to breathe.",
        ],
    ),
    (
        "Why the Sky Is Blue",
        ["Why is the sky blue?", "Explain to a child why the sky looks blue during the day."],
        [
            "Sunlight contains all the colours of the rainbow.",
            "When it enters the atmosphere it hits tiny gas molecules.",
            "Short blue wavelengths scatter much more than long red ones.",
            "This scattered blue light reaches our eyes from every direction.",
            "At sunset light travels through more air so reds and oranges dominate.",
        ],
    ),
    (
        "What Causes the Seasons",
        ["What causes the seasons on Earth?", "Why is it summer in one hemisphere and winter in the other?"],
        [
            "The axis of the Earth is tilted by about 23 degrees.",
            "As Earth orbits the Sun each hemisphere leans toward the Sun for part of the year.",
            "The hemisphere tilted toward the Sun gets more direct light and longer days.",
            "That hemisphere has summer while the other has winter.",
            "Distance from the Sun is not the main cause of the seasons.",
        ],
    ),
    (
        "How Vaccines Work",
        ["How do vaccines work?", "Explain in simple terms how a vaccine protects you."],
        [
            "A vaccine trains the immune system to recognise a germ.",
            "It contains a harmless piece of the germ or instructions to make one.",
            "The body responds by making antibodies and memory cells.",
            "If the real germ arrives later the immune system reacts quickly.",
            "This prevents serious illness in most people.",
        ],
    ),
    (
        "What Gravity Is",
        ["What is gravity?", "Explain gravity to a high school student."],
        [
            "Gravity is the attraction between objects that have mass.",
            "The more mass an object has the stronger its pull.",
            "Gravity gets weaker as objects move farther apart.",
            "It keeps the Moon in orbit around Earth and Earth in orbit around the Sun.",
            "Einstein described gravity as the bending of space and time by mass.",
        ],
    ),
    (
        "What Causes Tides",
        ["What causes ocean tides?", "Why does the sea rise and fall every day?"],
        [
            "Tides are the regular rise and fall of sea level.",
            "They are caused mostly by the pull of the Moon on the oceans.",
            "The water bulges on the side facing the Moon and on the opposite side.",
            "Most coasts get two high tides and two low tides each day.",
            "The Sun also affects tides and makes them stronger at new moon and full moon.",
        ],
    ),
    (
        "What DNA Is",
        ["What is DNA?", "Explain what DNA does in a cell."],
        [
            "DNA is the molecule that stores genetic instructions.",
            "It is shaped like a twisted ladder called a double helix.",
            "The rungs are pairs of four bases labelled A, C, G, and T.",
            "The order of these bases encodes the recipes for proteins.",
            "Cells copy their DNA before they divide.",
        ],
    ),
    (
        "How Batteries Work",
        ["How does a battery work?", "Explain how a battery powers a device."],
        [
            "A battery stores energy in chemical form.",
            "It has two electrodes called the anode and the cathode.",
            "A chemical reaction pushes electrons from the anode through the circuit to the cathode.",
            "The flowing electrons form the current that powers a device.",
            "Rechargeable batteries reverse the reaction when they are charged.",
        ],
    ),
    (
        "How Rainbows Form",
        ["How does a rainbow form?", "Why do we see rainbows after rain?"],
        [
            "A rainbow forms when sunlight passes through raindrops.",
            "Light bends as it enters a drop and splits into colours.",
            "It reflects off the back of the drop and bends again on the way out.",
            "Each colour leaves at a slightly different angle.",
            "You see a rainbow when the Sun is behind you and rain is in front of you.",
        ],
    ),
    (
        "Why Volcanoes Erupt",
        ["Why do volcanoes erupt?", "Explain what happens inside a volcano before it erupts."],
        [
            "A volcano erupts when molten rock called magma rises to the surface.",
            "Magma is lighter than the solid rock around it so it moves upward.",
            "Gas dissolved in the magma builds pressure as it rises.",
            "When the pressure is too high the magma bursts out as lava and ash.",
            "Sticky magma tends to cause explosive eruptions while runny magma flows gently.",
        ],
    ),
    (
        "How the Internet Sends Data",
        ["How does data travel across the internet?", "Explain what internet packets are."],
        [
            "Data on the internet is split into small chunks called packets.",
            "Each packet carries the address of its destination.",
            "Routers pass packets from network to network toward that address.",
            "Packets can take different paths and arrive out of order.",
            "The receiving computer puts them back together in the right order.",
        ],
    ),
    (
        "The Water Cycle",
        ["Describe the water cycle.", "How does water move between the land and the sky?"],
        [
            "The water cycle moves water between the land and the sky.",
            "Heat from the Sun makes water evaporate from oceans and lakes.",
            "The vapour cools higher up and condenses into clouds.",
            "Water falls back as rain or snow.",
            "It then flows through rivers and soil back to the sea.",
        ],
    ),
    (
        "What Causes Earthquakes",
        ["What causes earthquakes?", "Explain how an earthquake happens."],
        [
            "The outer shell of the Earth is broken into large plates.",
            "These plates move a few centimetres each year.",
            "Stress builds up where plates push or slide past each other.",
            "An earthquake happens when that stress is released suddenly.",
            "The energy travels through the ground as seismic waves.",
        ],
    ),
    (
        "How a Refrigerator Works",
        ["How does a refrigerator keep food cold?", "Explain the science behind a fridge."],
        [
            "A refrigerator moves heat from inside the box to the room.",
            "A fluid called a refrigerant evaporates in coils inside and absorbs heat.",
            "A compressor squeezes the gas and makes it hot.",
            "Coils at the back release that heat into the kitchen.",
            "The refrigerant then cools and the cycle repeats.",
        ],
    ),
    (
        "Antibiotics and Viruses",
        [
            "Why don't antibiotics work against viruses?",
            "What is the difference between how antibiotics treat bacteria and viruses?",
        ],
        [
            "Antibiotics kill bacteria or stop them from growing.",
            "They attack parts that bacteria have and human cells do not.",
            "Viruses do not have those parts.",
            "That is why antibiotics do not cure colds or flu.",
            "Overusing antibiotics helps resistant bacteria spread.",
        ],
    ),
    (
        "What a Black Hole Is",
        ["What is a black hole?", "How do black holes form?"],
        [
            "A black hole is a region where gravity is so strong that not even light can escape.",
            "Many form when a huge star collapses at the end of its life.",
            "The boundary around it is called the event horizon.",
            "Supermassive black holes sit at the centres of most large galaxies.",
            "Scientists first photographed the shadow of one in 2019.",
        ],
    ),
    (
        "Why Ice Floats",
        ["Why does ice float on water?", "Explain why frozen lakes freeze from the top down."],
        [
            "Ice floats because it is less dense than liquid water.",
            "When water freezes its molecules lock into an open hexagonal pattern.",
            "This pattern takes up more space than liquid water.",
            "Floating ice insulates the water below it.",
            "That helps fish survive in frozen lakes during winter.",
        ],
    ),
    (
        "How Solar Panels Work",
        ["How do solar panels make electricity?", "Explain how a solar cell works."],
        [
            "Solar panels are made of cells that contain silicon.",
            "When sunlight hits a cell it knocks electrons loose.",
            "The structure of the cell pushes those electrons in one direction.",
            "This flow of electrons is an electric current.",
            "An inverter converts the current into the form used by homes.",
        ],
    ),
    (
        "What Machine Learning Is",
        ["What is machine learning?", "Explain machine learning to someone who does not code."],
        [
            "Machine learning lets computers learn patterns from examples.",
            "Instead of writing rules by hand we show the program many labelled examples.",
            "The model adjusts its internal numbers to reduce its mistakes.",
            "After training it can make predictions on new data.",
            "Spam filters and photo tagging are common uses.",
        ],
    ),
    (
        "How the Heart Works",
        ["How does the human heart work?", "Explain how blood moves through the heart."],
        [
            "The heart is a muscle that pumps blood around the body.",
            "It has four chambers called the two atria and the two ventricles.",
            "The right side sends blood to the lungs to pick up oxygen.",
            "The left side pumps oxygen-rich blood to the rest of the body.",
            "Valves keep blood flowing in one direction.",
        ],
    ),
    (
        "The Greenhouse Effect",
        ["What is the greenhouse effect?", "How do greenhouse gases warm the planet?"],
        [
            "The greenhouse effect keeps Earth warmer than it would otherwise be.",
            "Sunlight warms the ground which then gives off heat.",
            "Gases such as carbon dioxide and methane absorb some of that heat.",
            "They send part of it back toward the surface.",
            "Adding more of these gases makes the planet warmer.",
        ],
    ),
    (
        "Day and Night",
        ["Why do we have day and night?", "Explain what causes day and night."],
        [
            "Earth spins on its axis once about every 24 hours.",
            "The side facing the Sun has daytime.",
            "The side facing away from the Sun has night.",
            "The Sun seems to move across the sky because we are turning.",
            "Day length changes with the seasons because of the tilt of the Earth.",
        ],
    ),
    (
        "How Sound Travels",
        ["How does sound travel?", "Why can't sound travel through space?"],
        [
            "Sound is a vibration that travels as a wave.",
            "A vibrating object pushes on nearby air molecules.",
            "Those molecules bump into their neighbours and pass the vibration along.",
            "Sound moves faster in water and solids than in air.",
            "It cannot travel through the vacuum of space.",
        ],
    ),
    (
        "What an API Is",
        ["What is an API in software?", "Explain what an API is with an example."],
        [
            "An API is a set of rules that lets programs talk to each other.",
            "It defines which requests a program can make and what answers it will get.",
            "A weather app might use an API to fetch forecasts from a server.",
            "The app does not need to know how the server works inside.",
            "This makes it easier to build software from separate parts.",
        ],
    ),
]

POEMS = [
    (
        "Autumn Leaves",
        ["Write a short poem about autumn leaves.", "Write four rhyming lines about falling leaves."],
        [
            "Red leaves drift on the evening air.",
            "They spin like coins without a care.",
            "The maple lets its colours go.",
            "And waits in silence for the snow.",
        ],
    ),
    (
        "The Sea at Night",
        ["Write a short poem about the sea at night.", "Write a four-line poem about a night by the ocean."],
        [
            "The sea hums softly in the dark.",
            "A lighthouse lends a single spark.",
            "The waves fold back their silver lace.",
            "And moonlight settles in their place.",
        ],
    ),
    (
        "City Morning",
        ["Write a short poem about a city waking up.", "Write a rhyming poem about morning in a busy city."],
        [
            "The city yawns and rubs its eyes.",
            "The bakers wake before sunrise.",
            "A bus sighs at the corner stop.",
            "And coffee steams in every shop.",
        ],
    ),
    (
        "A Cat in the Sun",
        ["Write a short poem about a cat sleeping in the sun.", "Write a cheerful rhyme about a lazy cat."],
        [
            "The cat has found the warmest square.",
            "She claims it with a sleepy stare.",
            "The afternoon moves slow and gold.",
            "She keeps the sunlight she can hold.",
        ],
    ),
    (
        "Rain on the Window",
        ["Write a short poem about rain on a window.", "Write four lines about a rainy afternoon indoors."],
        [
            "Rain taps a rhythm on the glass.",
            "It counts the minutes as they pass.",
            "The garden drinks and bows its head.",
            "The streets turn silver grey instead.",
        ],
    ),
    (
        "The Mountains",
        ["Write a short poem about mountains.", "Write a rhyming poem about old mountains."],
        [
            "The mountains stand in patient rows.",
            "Their shoulders wrapped in ancient snows.",
            "They watch the rivers carve the land.",
            "And measure time in grains of sand.",
        ],
    ),
    (
        "A Friend",
        ["Write a short poem about friendship.", "Write four rhyming lines about a good friend."],
        [
            "A friend is a lamp on a winding road.",
            "A hand that helps you share the load.",
            "They laugh with you when skies are clear.",
            "And stay beside you through the year.",
        ],
    ),
    (
        "First Snow",
        ["Write a short poem about the first snow of winter.", "Write a rhyme about children watching snow fall."],
        [
            "The first snow falls without a sound.",
            "It lays a blanket on the ground.",
            "The children press against the pane.",
            "And beg the sky to snow again.",
        ],
    ),
    (
        "Spring Garden",
        ["Write a short poem about a garden in spring.", "Write four lines about flowers in spring."],
        [
            "Green shoots push up through sleepy soil.",
            "The bees begin their honest toil.",
            "The tulips open one by one.",
            "And turn their faces to the sun.",
        ],
    ),
    (
        "The Stars",
        ["Write a short poem about the stars.", "Write a rhyming poem about the night sky."],
        [
            "The stars are sparks from distant fires.",
            "They glitter over roofs and spires.",
            "Each one a sun too far to see.",
            "Yet bright enough for you and me.",
        ],
    ),
]

STORIES = [
    (
        "The Painting Robot",
        [
            "Write a very short story about a robot that learns to paint.",
            "Tell a tiny story about a warehouse robot who discovers art.",
        ],
        [
            "Unit Seven was built to sort boxes in a quiet warehouse.",
            "One night it found a spilled can of blue paint on the floor.",
            "It dragged a metal finger through the puddle and drew a wobbly circle.",
            "The circle looked a little like the moon it had seen through the skylight.",
            "By morning the wall was covered in moons and Unit Seven had found a new purpose.",
        ],
    ),
    (
        "The Yellow Umbrella",
        [
            "Write a very short story about a lost umbrella.",
            "Tell a short story about an umbrella that has an adventure.",
        ],
        [
            "Mara left her yellow umbrella on the morning train.",
            "It rode the line all day and sheltered a child from a sudden storm.",
            "An old man borrowed it to walk his dog in the drizzle.",
            "A student used it as a pointer during a lecture on poetry.",
            "When Mara found it at the lost property desk it seemed to have had a better day than she did.",
        ],
    ),
    (
        "The Dragon Who Feared the Dark",
        [
            "Write a very short story about a dragon who is afraid of the dark.",
            "Tell a short fable about a timid dragon.",
        ],
        [
            "Ember was the only dragon in the valley who slept with a candle lit.",
            "The other dragons laughed because dragons breathe fire.",
            "One winter night a storm blew out every flame in the valley.",
            "Ember was the only one who knew how to find the way home in the dark.",
            "From then on the others asked her to teach them about the night.",
        ],
    ),
    (
        "The Forgotten Library Book",
        [
            "Write a very short story about a library book nobody borrows.",
            "Tell a short story about a mysterious book on a high shelf.",
        ],
        [
            "The town library had one book that nobody ever borrowed.",
            "It sat on the top shelf with a faded green cover.",
            "One day a girl climbed the ladder and opened it.",
            "Inside were letters written by everyone who had worked at the library.",
            "She added her own letter and put the book back for the next reader.",
        ],
    ),
    (
        "The Message in a Bottle",
        ["Write a very short story about a message in a bottle.", "Tell a short story about a note found on a beach."],
        [
            "Tom found a bottle on the beach with a note rolled inside.",
            "The note asked the finder to describe their favourite view.",
            "He wrote about the harbour lights and threw the bottle back.",
            "Months later a postcard arrived from a fishing town across the sea.",
            "It said thank you and showed the same bottle on a windowsill.",
        ],
    ),
    (
        "The Wrong Year",
        [
            "Write a very short story about a time traveller who makes a mistake.",
            "Tell a funny short story about a time machine.",
        ],
        [
            "Professor Lane built a machine to visit the year 3000.",
            "She set the dial wrong and arrived on a Tuesday morning in 1983.",
            "Nobody noticed her silver suit because there was a costume parade in town.",
            "She won first prize and spent the money on parts to fix the dial.",
            "She kept the trophy as proof of her strangest trip.",
        ],
    ),
    (
        "The Last Seed",
        ["Write a very short story about a seed that will not grow.", "Tell a short story about a patient gardener."],
        [
            "Every seed in the garden sprouted except one.",
            "The gardener watered it and sang to it anyway.",
            "Weeks passed and the other plants began to wilt in the heat.",
            "Then the last seed pushed up a thick stem that shaded the whole bed.",
            "It had been growing roots deep enough to reach cool water.",
        ],
    ),
    (
        "The Night Bus",
        [
            "Write a very short story about a night bus driver.",
            "Tell a warm short story about a bus driver and his passengers.",
        ],
        [
            "Sam drove the night bus through a sleeping city.",
            "His regular passengers were nurses and bakers and cleaners.",
            "He knew their stops without asking.",
            "One night he found a thank you card taped to his seat.",
            "It was signed by everyone who rode his route.",
        ],
    ),
    (
        "Letters from Orbit",
        [
            "Write a very short story about an astronaut writing home.",
            "Tell a short story about a family separated by space travel.",
        ],
        [
            "Captain Reyes wrote letters home from the space station every Sunday.",
            "She described sunrises that came sixteen times a day.",
            "She told her son that floating water looks like jelly.",
            "In return he sent drawings of their garden and the dog.",
            "She taped them to the wall so home was always in view.",
        ],
    ),
    (
        "The Backwards Clock",
        [
            "Write a very short story about a clock that runs backwards.",
            "Tell a whimsical short story about time in a small town.",
        ],
        [
            "The clock in the town square began to run backwards one spring.",
            "At first people were late for everything.",
            "Then they noticed that the bread tasted fresher and the flowers bloomed longer.",
            "The mayor decided not to fix it.",
            "Now the town holds a festival each year on the day time turned around.",
        ],
    ),
]

# Professional writing: (title, tasks, body sentences, greeting or "" for a document).
PROFESSIONAL = [
    (
        "Meeting Request",
        ["Write a short email to a colleague asking for a meeting about the quarterly report."],
        [
            "I would like to schedule a short meeting to review the quarterly report.",
            "Would [day] at [time] work for you?",
            "I will bring the latest sales figures and a draft summary.",
            "Please let me know if another time suits you better.",
        ],
        "Hi [name],",
    ),
    (
        "Thank You After an Interview",
        ["Write a thank-you email to send after a job interview."],
        [
            "Thank you for meeting with me on [date] to discuss the [position] role.",
            "I enjoyed learning about the team and its plans for the coming year.",
            "Our conversation confirmed my interest in joining [company].",
            "Please let me know if you need any further information from me.",
        ],
        "Dear [name],",
    ),
    (
        "Out of Office",
        ["Write an out-of-office auto reply for a work email account."],
        [
            "Thank you for your message.",
            "I am out of the office until [date] with limited access to email.",
            "For urgent matters please contact [colleague name] at [email address].",
            "I will reply to your message as soon as I return.",
        ],
        "Hello,",
    ),
    (
        "Late Delivery",
        ["Write a short complaint email to a supplier about a late delivery."],
        [
            "I am writing about order [order number] which was due on [date].",
            "The delivery has not arrived and our production schedule is now at risk.",
            "Please confirm a new delivery date by the end of this week.",
            "We value our partnership and hope to resolve this quickly.",
        ],
        "Dear [name],",
    ),
    (
        "Resignation",
        ["Write a short and polite resignation letter."],
        [
            "Please accept this letter as notice of my resignation from my role as [job title].",
            "My last working day will be [date].",
            "I am grateful for the support and opportunities I have had here.",
            "I will do everything I can to make the handover smooth.",
        ],
        "Dear [name],",
    ),
    (
        "Meeting Summary",
        ["Write a brief email summarising a team meeting for people who missed it."],
        [
            "Here is a summary of our meeting on [date].",
            "The team agreed to launch the new website in [month].",
            "Priya will finish the design review by Friday.",
            "We will meet again next week to check progress.",
        ],
        "Hi team,",
    ),
    (
        "Job Posting",
        ["Write a short job posting for a part-time office assistant."],
        [
            "[Company] is hiring a part-time office assistant.",
            "The role involves answering phones, scheduling appointments, and keeping records tidy.",
            "Applicants should be organised and friendly.",
            "Please send your CV to [email address] by [date].",
        ],
        "",
    ),
    (
        "Cover Letter Opening",
        ["Write the opening of a cover letter for a customer service job."],
        [
            "I am applying for the [position] role advertised on [website].",
            "I have three years of experience in customer service.",
            "I enjoy solving problems and helping people feel heard.",
            "I would welcome the chance to discuss how I can contribute to your team.",
        ],
        "Dear [name],",
    ),
    (
        "Apology to a Customer",
        ["Write a short apology email to a customer whose order arrived damaged."],
        [
            "We are sorry that your order arrived damaged.",
            "A replacement has been sent and should reach you by [date].",
            "You do not need to return the damaged item.",
            "As a thank you for your patience we have added a discount code to your account.",
        ],
        "Dear [name],",
    ),
    (
        "Project Status Update",
        ["Write a short project status update for a manager."],
        [
            "The [project name] project is on track for delivery on [date].",
            "Testing of the main features finished this week.",
            "One risk remains around the data migration.",
            "I will share a detailed plan for that by Thursday.",
        ],
        "Hi [name],",
    ),
    (
        "Reference Request",
        ["Write a short email asking a former manager to be a job reference."],
        [
            "I am applying for a new role and wondered if you would be willing to act as a reference.",
            "We worked together at [company] from [start year] to [end year].",
            "The hiring manager may contact you by email next month.",
            "Thank you for considering this request.",
        ],
        "Dear [name],",
    ),
    (
        "Team Lunch Invitation",
        ["Write a short email inviting the team to a lunch."],
        [
            "You are invited to our team lunch on [date] at [venue].",
            "It is a chance to celebrate the end of a busy quarter.",
            "Please reply by [deadline] so we can book the right table size.",
            "Let me know if you have any dietary needs.",
        ],
        "Hi everyone,",
    ),
    (
        "Invoice Reminder",
        ["Write a polite reminder about an unpaid invoice."],
        [
            "This is a friendly reminder that invoice [invoice number] is now overdue.",
            "The amount due is [amount].",
            "Please arrange payment at your earliest convenience.",
            "If you have already paid please ignore this message.",
        ],
        "Dear [name],",
    ),
    (
        "New Office Announcement",
        ["Write a short press release announcing a new office opening."],
        [
            "[Company] today announced the opening of its new office in [city].",
            "The office will create around fifty new jobs.",
            "It will serve customers across the region.",
            "The opening event will take place on [date].",
        ],
        "",
    ),
    (
        "Feedback on a Presentation",
        ["Write short written feedback for an employee after a client presentation."],
        [
            "Thank you for your work on the client presentation.",
            "Your slides were clear and your answers to questions were confident.",
            "Next time try to keep the introduction shorter so there is more time for discussion.",
            "I am looking forward to seeing your next project.",
        ],
        "Hi [name],",
    ),
    (
        "Professional Bio",
        ["Write a short professional bio for a project manager."],
        [
            "[Name] is a project manager with eight years of experience in healthcare technology.",
            "She has led teams that delivered software to over forty hospitals.",
            "Her strengths include planning and clear communication.",
            "Outside work she mentors young women entering the tech industry.",
        ],
        "",
    ),
    (
        "Leave Request",
        ["Write a short email to a manager requesting time off."],
        [
            "I would like to request annual leave from [start date] to [end date].",
            "My current tasks will be finished before I leave.",
            "[Colleague name] has agreed to cover any urgent requests.",
            "Please let me know if these dates work for the team.",
        ],
        "Hi [name],",
    ),
    (
        "Welcome Email",
        ["Write a welcome email for a new employee."],
        [
            "Welcome to the team at [company]!",
            "Your first day is [date] and you should arrive at the front desk at nine.",
            "Your manager will give you a tour and help you set up your laptop.",
            "We are excited to have you with us.",
        ],
        "Dear [name],",
    ),
]
PLACEHOLDER_FILL = {
    "name": "Ms Patel",
    "day": "Tuesday",
    "time": "two o'clock",
    "date": "12 March",
    "position": "analyst",
    "company": "Northwind",
    "colleague name": "Alex Kim",
    "email address": "help@northwind.example",
    "order number": "4471",
    "job title": "office coordinator",
    "month": "June",
    "website": "our careers page",
    "project name": "Atlas",
    "start year": "2019",
    "end year": "2022",
    "venue": "the Harbour Cafe",
    "deadline": "Friday",
    "invoice number": "INV-208",
    "amount": "450 dollars",
    "city": "Leeds",
    "start date": "3 July",
    "end date": "14 July",
    "your name": "Jordan Lee",
}

PROCEDURES = [
    (
        "Boiling an Egg",
        ["How do I boil an egg?", "Give me instructions for a hard-boiled egg."],
        [
            "Place the egg in a small pot and cover it with cold water.",
            "Bring the water to a boil over medium heat.",
            "Turn off the heat and cover the pot.",
            "Leave the egg for nine to twelve minutes for a firm yolk.",
            "Move the egg into cold water before peeling it.",
        ],
    ),
    (
        "Making a Cup of Tea",
        ["How do I make a good cup of tea?", "Explain how to brew tea with a tea bag."],
        [
            "Boil fresh water in a kettle.",
            "Warm the mug with a splash of hot water and pour it out.",
            "Add a tea bag and pour in the boiling water.",
            "Let it steep for three to five minutes.",
            "Remove the bag and add milk or honey if you like.",
        ],
    ),
    (
        "Resetting a Router",
        ["How do I reset my home router?", "Walk me through a factory reset of a wifi router."],
        [
            "Find the small reset button on the back of the router.",
            "Press and hold it with a paperclip for about ten seconds.",
            "Wait for the lights to blink and the router to restart.",
            "Connect using the default network name and password on the label.",
            "Log in to the settings page and set a new password.",
        ],
    ),
    (
        "Fixing a Flat Bicycle Tyre",
        ["How do I fix a flat bicycle tyre?", "Explain how to repair a bike puncture."],
        [
            "Remove the wheel from the bike frame.",
            "Use tyre levers to pull one side of the tyre off the rim.",
            "Take out the inner tube and find the hole.",
            "Patch the hole or fit a new tube.",
            "Put the tyre back on and pump it to the pressure printed on its side.",
        ],
    ),
    (
        "Planting a Tree",
        ["How do I plant a young tree?", "What are the steps for planting a tree in my garden?"],
        [
            "Choose a spot with enough space and sunlight.",
            "Dig a hole twice as wide as the root ball and no deeper.",
            "Loosen the roots gently and place the tree in the hole.",
            "Fill the hole with soil and press it down firmly.",
            "Water the tree well and add a layer of mulch around it.",
        ],
    ),
    (
        "Creating a Strong Password",
        ["How do I create a strong password?", "Give me tips for making a secure password."],
        [
            "Use at least twelve characters.",
            "Combine several unrelated words into a long passphrase.",
            "Add numbers or symbols in unexpected places.",
            "Never reuse the same password on different sites.",
            "Store your passwords in a trusted password manager.",
        ],
    ),
    (
        "Preparing for a Job Interview",
        ["How should I prepare for a job interview?", "What steps help me get ready for an interview?"],
        [
            "Research the company and its recent news.",
            "Read the job description and match your experience to it.",
            "Prepare short stories that show your skills.",
            "Plan your route and arrive ten minutes early.",
            "Bring a few questions to ask the interviewer.",
        ],
    ),
    (
        "Cleaning a Laptop Keyboard",
        ["How do I clean my laptop keyboard?", "Explain how to safely clean a keyboard."],
        [
            "Shut down the laptop and unplug it.",
            "Turn it upside down and tap it gently to remove crumbs.",
            "Use a can of compressed air between the keys.",
            "Wipe the keys with a cloth dampened with a little alcohol.",
            "Let it dry completely before turning it on.",
        ],
    ),
    (
        "Cooking Rice",
        ["How do I cook rice on the stove?", "Give me simple steps for fluffy rice."],
        [
            "Rinse one cup of rice until the water runs clear.",
            "Put the rice in a pot with one and a half cups of water.",
            "Bring it to a boil and then turn the heat to low.",
            "Cover the pot and simmer for fifteen minutes.",
            "Let it rest off the heat for five minutes and fluff it with a fork.",
        ],
    ),
    (
        "Building a New Habit",
        ["How can I build a new habit?", "What steps help a new daily habit stick?"],
        [
            "Choose one small habit that takes less than two minutes.",
            "Attach it to something you already do every day.",
            "Track your progress on a calendar.",
            "Make the habit easy by preparing what you need in advance.",
            "Reward yourself when you keep the streak going.",
        ],
    ),
    (
        "Backing Up Photos",
        ["How do I back up my photos?", "Explain how to keep my photo collection safe."],
        [
            "Pick a backup location such as an external drive or a cloud service.",
            "Copy your photo folders to that location.",
            "Check that the copied files open correctly.",
            "Turn on automatic backups if your service offers them.",
            "Keep at least one copy in a different place from your computer.",
        ],
    ),
    (
        "Washing Your Hands",
        ["How should I wash my hands properly?", "What is the right way to wash hands?"],
        [
            "Wet your hands with clean running water.",
            "Apply soap and rub your palms together.",
            "Scrub the backs of your hands, between your fingers, and under your nails.",
            "Keep scrubbing for at least twenty seconds.",
            "Rinse well and dry your hands with a clean towel.",
        ],
    ),
    (
        "Treating a Small Cut",
        ["How do I treat a small cut?", "Give me first aid steps for a minor cut."],
        [
            "Wash your hands before touching the wound.",
            "Rinse the cut with clean water.",
            "Press gently with a clean cloth to stop the bleeding.",
            "Apply an antiseptic cream if you have one.",
            "Cover the cut with a plaster or a clean dressing.",
        ],
    ),
    (
        "Making a Monthly Budget",
        ["How do I make a monthly budget?", "Explain how to set up a simple budget."],
        [
            "Write down your total monthly income after tax.",
            "List your fixed costs such as rent and bills.",
            "Estimate flexible spending on food, transport, and fun.",
            "Set aside a fixed amount for savings first.",
            "Review your spending at the end of the month and adjust.",
        ],
    ),
    (
        "Studying with Flashcards",
        ["How do I study vocabulary with flashcards?", "Explain a good flashcard routine."],
        [
            "Write a word on one side of a card and its meaning on the other.",
            "Review a small set of cards each day.",
            "Say each word out loud as you study it.",
            "Move cards you know well to a pile you review less often.",
            "Use new words in short sentences to help them stick.",
        ],
    ),
    (
        "Repotting a Houseplant",
        ["How do I repot a houseplant?", "What are the steps to move a plant into a bigger pot?"],
        [
            "Water the plant a day before repotting.",
            "Choose a pot one size larger with a drainage hole.",
            "Tip the plant out gently while supporting the stem.",
            "Loosen the roots and set the plant in fresh potting mix.",
            "Water it well and keep it out of strong sun for a few days.",
        ],
    ),
    (
        "Folding a Paper Airplane",
        ["How do I fold a paper airplane?", "Give me steps for a classic paper plane."],
        [
            "Fold a sheet of paper in half lengthwise and unfold it.",
            "Fold the top corners down to meet the centre line.",
            "Fold the new slanted edges to the centre line again.",
            "Fold the plane in half along the original crease.",
            "Fold each wing down to line up with the bottom edge.",
        ],
    ),
    (
        "Jump-Starting a Car",
        ["How do I jump-start a car?", "Explain how to use jumper cables."],
        [
            "Park the working car close to the car with the flat battery.",
            "Clip the red cable to the positive terminal of the flat battery and then to the positive terminal of the good battery.",
            "Clip the black cable to the negative terminal of the good battery and then to bare metal on the other car.",
            "Start the working car and let it run for a few minutes.",
            "Start the other car and remove the cables in reverse order.",
        ],
    ),
    (
        "Setting Up a Video Call",
        ["How do I set up a video call?", "Walk me through hosting my first video call."],
        [
            "Install the video call app on your device.",
            "Create an account or sign in.",
            "Test your camera and microphone in the settings.",
            "Copy the meeting link and send it to the people you want to invite.",
            "Join a few minutes early to check that everything works.",
        ],
    ),
    (
        "Using a French Press",
        ["How do I make coffee with a French press?", "Explain how to brew French press coffee."],
        [
            "Heat water until it is just off the boil.",
            "Add two tablespoons of coarse ground coffee to the press.",
            "Pour in the hot water and stir gently.",
            "Put the lid on and wait four minutes.",
            "Press the plunger down slowly and pour the coffee.",
        ],
    ),
    (
        "Preparing for a Power Cut",
        ["How should I prepare for a power cut?", "What should I do before a storm knocks out the power?"],
        [
            "Keep a torch and spare batteries in an easy place.",
            "Store some bottled water and food that needs no cooking.",
            "Charge your phone and a power bank when a storm is forecast.",
            "Learn how to open your garage door by hand.",
            "Unplug sensitive electronics to protect them from surges.",
        ],
    ),
    (
        "Ironing a Shirt",
        ["How do I iron a shirt?", "Give me the steps for ironing a dress shirt."],
        [
            "Check the label and set the iron to the right temperature.",
            "Start with the collar and iron from the points inward.",
            "Iron the cuffs and then the sleeves.",
            "Move on to the back and then the front panels.",
            "Hang the shirt straight away to keep it smooth.",
        ],
    ),
]

DISCUSSIONS = [
    (
        "Remote Work",
        ["What are the pros and cons of remote work?", "Is working from home better than working in an office?"],
        [
            "Remote work saves commuting time and can improve focus.",
            "It also lets companies hire people from anywhere.",
            "On the other hand some people feel isolated at home.",
            "Teams can find it harder to build trust and share ideas.",
            "Many organisations now choose a hybrid model to get the best of both.",
        ],
    ),
    (
        "Social Media and Teenagers",
        ["Is social media good or bad for teenagers?", "Discuss the effects of social media on teenagers."],
        [
            "Social media helps teenagers stay in touch with friends and find communities.",
            "It can also be a place to learn and create.",
            "However constant comparison can harm self-esteem.",
            "Late-night scrolling often cuts into sleep.",
            "Clear limits and open conversations with parents can make a big difference.",
        ],
    ),
    (
        "Homework",
        ["Should homework be banned?", "Discuss whether schools should give homework."],
        [
            "Homework can reinforce what students learn in class.",
            "It also builds habits of independent study.",
            "Too much homework can cause stress and leave little time for rest or play.",
            "Its value seems to be smaller for young children.",
            "A balanced approach with short and purposeful tasks may work best.",
        ],
    ),
    (
        "Electric Cars",
        ["Are electric cars better for the environment?", "What are the pros and cons of electric cars?"],
        [
            "Electric cars produce no exhaust emissions while driving.",
            "They are cheaper to run and need less maintenance.",
            "Their batteries require mining for metals such as lithium and cobalt.",
            "Charging can still be slow and stations are scarce in some areas.",
            "Their overall benefit grows as the electricity grid gets cleaner.",
        ],
    ),
    (
        "AI and Jobs",
        ["Will artificial intelligence take away jobs?", "Discuss how AI might change the job market."],
        [
            "AI can automate repetitive tasks in many industries.",
            "This may replace some roles such as routine data entry.",
            "It can also create new jobs in building and supervising these systems.",
            "Workers who learn to use AI tools may become more productive.",
            "Training and social support will shape whether the change is fair.",
        ],
    ),
    (
        "City or Countryside",
        ["Is it better to live in a city or the countryside?", "Compare city life and country life."],
        [
            "Cities offer more jobs, more culture, and better public transport.",
            "They can also be noisy and expensive.",
            "The countryside offers space, quiet, and closeness to nature.",
            "It may mean longer trips to shops and doctors.",
            "The right choice depends on your work and your stage of life.",
        ],
    ),
    (
        "The Four-Day Week",
        ["Should companies adopt a four-day work week?", "Discuss the idea of a four-day working week."],
        [
            "A four-day week can improve wellbeing and reduce burnout.",
            "Some trials found that productivity stayed the same or even rose.",
            "It may be hard to apply in jobs that need constant cover such as hospitals.",
            "Customers may expect service on every weekday.",
            "Careful planning and clear goals seem to be the keys to success.",
        ],
    ),
    (
        "Space Exploration",
        ["Is space exploration worth the cost?", "Discuss whether governments should spend money on space missions."],
        [
            "Space exploration has given us satellites for weather forecasts and navigation.",
            "It drives new technology and inspires young scientists.",
            "Critics argue the money could solve urgent problems on Earth.",
            "Private companies now share some of the costs.",
            "Many people see it as a long-term investment in knowledge.",
        ],
    ),
    (
        "Ebooks or Paper Books",
        ["Are ebooks better than paper books?", "Compare reading on a screen with reading on paper."],
        [
            "Ebooks are light and let you carry a whole library.",
            "You can adjust the text size and search instantly.",
            "Many readers say paper books are easier on the eyes.",
            "Some studies suggest people remember details better on paper.",
            "Both formats can encourage a love of reading.",
        ],
    ),
    (
        "School Uniforms",
        ["Should students wear school uniforms?", "Discuss the pros and cons of school uniforms."],
        [
            "Uniforms can reduce pressure to wear expensive brands.",
            "They create a sense of belonging and make mornings simpler.",
            "Critics say they limit self-expression.",
            "They can also be costly for families with several children.",
            "Schools can involve students when choosing or updating a uniform.",
        ],
    ),
    (
        "Zoos",
        ["Are zoos good for animals?", "Discuss whether modern zoos should exist."],
        [
            "Modern zoos support conservation and breeding of endangered species.",
            "They teach visitors about animals and their habitats.",
            "Some animals suffer in small or unsuitable enclosures.",
            "Critics argue that wild animals belong in the wild.",
            "Good zoos focus on animal welfare and research rather than entertainment.",
        ],
    ),
    (
        "Coding in Schools",
        ["Should every child learn to code at school?", "Discuss teaching programming in primary schools."],
        [
            "Coding teaches logical thinking and problem solving.",
            "It prepares students for many modern careers.",
            "Some argue that the time is better spent on reading and mathematics.",
            "Teachers need training and resources to teach it well.",
            "Short practical projects can make coding fun and useful.",
        ],
    ),
    (
        "Fast Fashion",
        ["Is fast fashion a problem?", "Discuss the impact of cheap fashion on the world."],
        [
            "Fast fashion makes trendy clothes cheap and widely available.",
            "It also creates a lot of textile waste.",
            "Factories in some countries pay low wages and have unsafe conditions.",
            "Buying fewer and better items can reduce the impact.",
            "Second-hand shopping and repairs are growing alternatives.",
        ],
    ),
    (
        "Plant-Based Diets",
        ["Should people eat a plant-based diet?", "Discuss the benefits and drawbacks of eating less meat."],
        [
            "Plant-based diets can lower the risk of heart disease.",
            "They usually have a smaller environmental footprint.",
            "Some people find it hard to get enough protein or vitamin B12.",
            "Careful planning or supplements can solve these gaps.",
            "Even eating less meat a few days a week can help.",
        ],
    ),
    (
        "Tourism in Small Towns",
        ["Is tourism good for small towns?", "Discuss how tourism affects small communities."],
        [
            "Tourism brings money and jobs to small towns.",
            "It can help preserve local crafts and traditions.",
            "Too many visitors can push up housing costs for residents.",
            "Crowds and traffic can change the character of a place.",
            "Limits on holiday rentals and better planning can balance the benefits.",
        ],
    ),
    (
        "Screens Before Bed",
        ["Is it bad to use screens before bed?", "Discuss whether phones in the bedroom harm sleep."],
        [
            "Screens before bed can delay sleep.",
            "Bright light signals the brain to stay awake.",
            "Exciting content can keep the mind busy.",
            "Some people use calm audio or reading apps to relax.",
            "Putting devices away an hour before bed helps most people sleep better.",
        ],
    ),
    (
        "Free Public Transport",
        ["Should public transport be free?", "Discuss the idea of free buses and trains."],
        [
            "Free public transport could reduce traffic and pollution.",
            "It would help people on low incomes get to work.",
            "It would need to be paid for through taxes.",
            "Crowded buses might get even busier without better service.",
            "Some cities have tried it and report more riders.",
        ],
    ),
    (
        "Competitive Sports for Children",
        ["Are competitive sports good for children?", "Discuss the role of competition in youth sports."],
        [
            "Competitive sports teach children teamwork and resilience.",
            "They keep kids active and healthy.",
            "Too much pressure to win can take away the fun.",
            "Early specialisation may lead to injuries.",
            "Coaches who value effort over results help children thrive.",
        ],
    ),
]

# Imitation writing: "lines" entries are verse, the others prose.
IMITATIONS = [
    (
        "Pirate Weather Report",
        ["Write a short weather report in the style of a pirate captain."],
        [
            "Ahoy crew and listen well.",
            "The skies be grey as an old sea dog's beard.",
            "A stiff wind blows from the west so lash down the sails.",
            "Expect rain by the evening watch.",
            "Keep yer boots dry and yer spirits high.",
        ],
        "prose",
    ),
    (
        "Breaking News About a Cat",
        ["Describe a cat knocking over a vase in the style of a TV news anchor."],
        [
            "Good evening and welcome to tonight's top story.",
            "A local cat has been seen knocking a vase off the kitchen table.",
            "Witnesses say the suspect showed no remorse.",
            "The vase could not be saved.",
            "We will bring you updates as this story develops.",
        ],
        "prose",
    ),
    (
        "A Shakespearean Monday",
        ["Complain about Monday mornings in the style of Shakespeare."],
        [
            "Alas sweet Monday thou art come again.",
            "Thou drag'st me from my slumber ere the lark.",
            "My coffee cup doth weep for want of strength.",
            "O that the weekend might forever last.",
            "Yet I shall rise and face thee like a knight.",
        ],
        "prose",
    ),
    (
        "A Fairy Tale of Code",
        ["Write the opening of a fairy tale about a programmer."],
        [
            "Once upon a time in a kingdom of glowing screens there lived a young programmer.",
            "Each night she battled a bug that no one could catch.",
            "A wise old debugger whispered that the answer lay in a single missing bracket.",
            "She searched through a thousand lines of code.",
            "At dawn she found it and the kingdom compiled happily ever after.",
        ],
        "prose",
    ),
    (
        "The Sandwich Final",
        ["Describe someone making a sandwich in the style of a sports commentator."],
        [
            "And he reaches for the bread with incredible confidence!",
            "The butter goes on edge to edge and the crowd is on its feet!",
            "A bold move with the cheese!",
            "He adds the tomato with textbook precision.",
            "He closes the sandwich and it is a perfect finish!",
        ],
        "prose",
    ),
    (
        "A Victorian Letter",
        ["Write about a broken phone in the style of a formal Victorian letter."],
        [
            "My dearest friend I write with a heavy heart.",
            "My telephone device has met a most unfortunate end upon the stone floor.",
            "Its glass is cracked beyond all hope of repair.",
            "I must beg your patience should my replies be delayed.",
            "I remain your most faithful correspondent.",
        ],
        "prose",
    ),
    (
        "Laundry Day Pep Talk",
        ["Talk about doing laundry in the style of a motivational coach."],
        [
            "Listen up champions because this is laundry day!",
            "Every sock you match is a victory.",
            "Fold those shirts like you mean it.",
            "No pile is too big for a focused mind.",
            "Now go out there and conquer that basket!",
        ],
        "prose",
    ),
    (
        "The Office Wildlife Documentary",
        ["Describe an office worker getting coffee in the style of a nature documentary narrator."],
        [
            "Here in the open office a lone worker approaches the coffee machine.",
            "He moves cautiously because the machine has been known to jam.",
            "With great patience he waits for the cup to fill.",
            "A colleague appears and the two exchange a brief nod.",
            "The ritual is complete and he returns to his natural habitat at desk twelve.",
        ],
        "prose",
    ),
    (
        "Brushing Rhyme",
        ["Write a bouncy children's rhyme about brushing teeth in the style of a classic picture book."],
        [
            "Brush in the morning and brush late at night.",
            "Brush on the left and brush on the right.",
            "Scrub every tooth till it sparkles and shines.",
            "Your smile will thank you a thousand times.",
        ],
        "lines",
    ),
    (
        "The Case of the Missing Cookie",
        ["Describe a missing cookie in the style of a noir detective story."],
        [
            "The kitchen was quiet like a city after midnight.",
            "Somebody had taken the last cookie from the jar.",
            "The crumbs led to the couch like footprints in fresh snow.",
            "The dog would not meet my eye.",
            "In this town everybody has a secret and his smelled like chocolate.",
        ],
        "prose",
    ),
    (
        "The Town Crier",
        ["Announce a bakery sale in the style of a medieval town crier."],
        [
            "Hear ye and hear ye good people of the town!",
            "The baker doth sell two loaves for the price of one this fine day.",
            "Come one and come all to the market square.",
            "The sale endeth when the church bell rings at noon.",
            "Long live the bread!",
        ],
        "prose",
    ),
    (
        "The Spoon Launch",
        ["Introduce an ordinary spoon in the style of a tech product launch."],
        [
            "Today we are thrilled to introduce the Spoon.",
            "It is the most advanced way to eat soup ever created.",
            "The Spoon features a seamless curved design with no buttons at all.",
            "It works with every bowl you already own.",
            "The Spoon is available today in silver.",
        ],
        "prose",
    ),
    (
        "Advice from a Wise Master",
        ["Give study advice in the style of a wise old master who speaks in inverted sentences."],
        [
            "Study hard you must.",
            "Rushing the night before leads only to sorrow it does.",
            "Small steps every day you take.",
            "Questions you ask and wiser you become.",
            "Pass the exam you will.",
        ],
        "prose",
    ),
    (
        "An Old Radio Advert",
        ["Advertise a bicycle in the style of an old-time radio commercial."],
        [
            "Tired of waiting for the streetcar folks?",
            "Try the brand new Speedwell bicycle!",
            "It is light as a feather and strong as steel.",
            "Ask for it at your local hardware store today.",
            "The Speedwell bicycle gets you there in style!",
        ],
        "prose",
    ),
    (
        "Little Moon",
        ["Write about the moon in the style of a gentle bedtime picture book."],
        [
            "Little Moon peeked over the hill.",
            "She saw the town was sleepy and still.",
            "She lit the rooftops soft and white.",
            "And whispered to the world goodnight.",
        ],
        "lines",
    ),
    (
        "The Pen Agreement",
        ["Describe borrowing a pen in the style of a legal contract."],
        [
            "This agreement is made between the Lender and the Borrower.",
            "The Lender agrees to lend one blue pen to the Borrower.",
            "The Borrower shall return the pen by the end of the meeting.",
            "The Borrower shall not chew the cap.",
            "Failure to return the pen shall result in one coffee owed.",
        ],
        "prose",
    ),
    (
        "The Epic of the Laser Dot",
        ["Describe a cat chasing a laser dot in the style of an epic poem."],
        [
            "Sing of the cat whose courage knew no bound.",
            "She stalked the crimson spark across the floor.",
            "It fled up walls and circled all around.",
            "She leapt and struck and pounced and leapt once more.",
            "Yet still the spark escaped her as before.",
        ],
        "lines",
    ),
    (
        "A Haiku About Traffic",
        ["Write a haiku about traffic in the style of classic Japanese haiku."],
        ["Red lights in a row.", "The engines hum like crickets.", "Spring rain on the roofs."],
        "lines",
    ),
]

# Classification: (title, tasks, label, answer sentences). The first sentence states the label.
CLASSIFICATIONS = [
    (
        "Review Sentiment",
        [
            'Classify the sentiment of this review as positive, negative, or neutral: "The battery lasts all day and the screen is bright and sharp."'
        ],
        "positive",
        [
            "The sentiment is positive.",
            "The review praises the battery life.",
            "It also describes the screen in favourable words.",
            "There is no complaint in the text.",
        ],
    ),
    (
        "Delivery Review",
        ['Is this review positive, negative, or neutral? "The delivery took three weeks and the box arrived crushed."'],
        "negative",
        [
            "The sentiment is negative.",
            "The reviewer complains about slow delivery.",
            "The damaged box adds to the bad experience.",
            "Nothing in the text is praised.",
        ],
    ),
    (
        "Hotel Review",
        [
            'Label the sentiment of this hotel review as positive, negative, or neutral: "The hotel was fine but nothing special."'
        ],
        "neutral",
        [
            "The sentiment is neutral.",
            "The word fine signals mild satisfaction.",
            "The phrase nothing special shows a lack of enthusiasm.",
            "The review is neither strongly positive nor strongly negative.",
        ],
    ),
    (
        "Film Review",
        ['What is the sentiment of this film review: "I have never laughed so hard at a film in my life."'],
        "positive",
        [
            "The sentiment is positive.",
            "The reviewer says the film made them laugh more than any other.",
            "Laughing hard is a sign of enjoyment.",
            "There are no negative remarks.",
        ],
    ),
    (
        "Restaurant Review",
        [
            'Classify this restaurant review as positive, negative, or neutral: "The soup was cold and the waiter ignored us for an hour."'
        ],
        "negative",
        [
            "The sentiment is negative.",
            "The review complains that the soup was cold.",
            "It also criticises the slow and inattentive service.",
            "No part of the meal is praised.",
        ],
    ),
    (
        "Dolphin",
        ["Is a dolphin a fish, a mammal, a bird, or a reptile?"],
        "mammal",
        [
            "A dolphin is a mammal.",
            "Dolphins breathe air with lungs.",
            "They give birth to live young and feed them milk.",
            "Living in water does not make them fish.",
        ],
    ),
    (
        "Penguin",
        ["Classify the penguin as a mammal, bird, reptile, or fish."],
        "bird",
        [
            "A penguin is a bird.",
            "Penguins have feathers and lay eggs.",
            "Their wings evolved into flippers for swimming.",
            "They cannot fly but they are still birds.",
        ],
    ),
    (
        "Bat",
        ["Is a bat a bird or a mammal?"],
        "mammal",
        [
            "A bat is a mammal.",
            "Bats have fur and feed their young with milk.",
            "They are the only mammals capable of true flight.",
            "Their wings are skin stretched over long finger bones.",
        ],
    ),
    (
        "Frog",
        ["Which animal class does a frog belong to: mammal, reptile, amphibian, or fish?"],
        "amphibian",
        [
            "A frog is an amphibian.",
            "Frogs start life as tadpoles in water.",
            "Adults can live on land and breathe partly through their skin.",
            "This two-stage life is typical of amphibians.",
        ],
    ),
    (
        "Shark",
        ["Is a shark a fish or a mammal?"],
        "fish",
        [
            "A shark is a fish.",
            "Sharks breathe through gills.",
            "They have skeletons made of cartilage.",
            "They are fish even though some of them give birth to live young.",
        ],
    ),
    (
        "Tomato",
        ["Is a tomato a fruit or a vegetable?"],
        "fruit",
        [
            "Botanically a tomato is a fruit.",
            "It develops from the flower of the plant.",
            "It contains seeds.",
            "Cooks often treat it as a vegetable because it is not sweet.",
        ],
    ),
    (
        "Prize Message",
        [
            'Classify this message as spam or not spam: "Congratulations you have won a free cruise! Click this link to claim now."'
        ],
        "spam",
        [
            "This message is spam.",
            "It promises a prize for no reason.",
            "It pushes the reader to click a link quickly.",
            "These are classic signs of spam.",
        ],
    ),
    (
        "Meeting Note",
        ['Is this message spam or not spam? "Hi Sam the team meeting moved to 3 pm in room B."'],
        "not spam",
        [
            "This message is not spam.",
            "It gives a specific work update.",
            "It contains no link and no request for money.",
            "It reads like a normal note between colleagues.",
        ],
    ),
    (
        "Lunch Invite Register",
        ['Is this sentence formal or informal: "Hey what\'s up? Wanna grab lunch?"'],
        "informal",
        [
            "The sentence is informal.",
            "It uses slang such as wanna.",
            "The greeting hey is casual.",
            "Short questions like these are typical of chat between friends.",
        ],
    ),
    (
        "Extension Request Register",
        ['Is this sentence formal or informal: "I am writing to request an extension for the project deadline."'],
        "formal",
        [
            "The sentence is formal.",
            "It uses complete and polite wording.",
            "The phrase I am writing to request is common in business letters.",
            "It contains no slang or abbreviations.",
        ],
    ),
    (
        "Detective Genre",
        ['What genre does this sentence suggest: "The detective examined the footprints outside the locked room."'],
        "mystery",
        [
            "The genre is mystery.",
            "A detective is a typical main character in mysteries.",
            "Footprints are a clue to be examined.",
            "A locked room is a classic puzzle in crime stories.",
        ],
    ),
    (
        "Starship Genre",
        ['Classify the genre of this sentence: "The starship dropped out of hyperspace near a dying star."'],
        "science fiction",
        [
            "The genre is science fiction.",
            "Starships and hyperspace are imagined technologies.",
            "The setting is deep space.",
            "These details are typical of science fiction.",
        ],
    ),
    (
        "Dragon Genre",
        ['Which genre is this sentence from: "The dragon circled the castle as the young knight drew his sword."'],
        "fantasy",
        [
            "The genre is fantasy.",
            "Dragons are mythical creatures.",
            "Castles and knights suggest a medieval magical world.",
            "These elements are typical of fantasy.",
        ],
    ),
    (
        "Bank News Topic",
        ['Classify the topic of this headline: "Central bank raises interest rates by a quarter point."'],
        "business",
        [
            "The topic is business.",
            "Central banks set interest rates.",
            "Interest rates affect loans, savings, and prices.",
            "This kind of story appears in economic news.",
        ],
    ),
    (
        "Football News Topic",
        ['Classify the topic of this headline: "Striker scores twice in the final ten minutes."'],
        "sports",
        [
            "The topic is sports.",
            "A striker is a player in football.",
            "Scoring goals describes a match.",
            "The headline would appear in the sports pages.",
        ],
    ),
    (
        "Frog Discovery Topic",
        ['What is the topic of this headline: "Researchers discover a new species of frog in the rainforest."'],
        "science",
        [
            "The topic is science.",
            "Researchers are making a discovery.",
            "Finding a new species is a biology story.",
            "The headline would appear in science news.",
        ],
    ),
    (
        "Steam",
        ["Is steam a solid, a liquid, or a gas?"],
        "gas",
        [
            "Steam is a gas.",
            "It is water in its gas form.",
            "It forms when water boils at 100 degrees Celsius at sea level.",
            "Its molecules move freely and spread out to fill a space.",
        ],
    ),
    (
        "Whale Shark",
        ["Is the whale shark a whale or a fish?"],
        "fish",
        [
            "The whale shark is a fish.",
            "It breathes through gills.",
            "It is the largest fish in the sea.",
            "Despite its name it is a shark and not a whale.",
        ],
    ),
    (
        "Sentence Type",
        ['Classify the sentence "Close the door." as a statement, a question, a command, or an exclamation.'],
        "command",
        [
            "The sentence is a command.",
            "It tells someone to do something.",
            "It starts with a verb.",
            "It does not ask anything or report a fact.",
        ],
    ),
]

# Multilingual: (English phrase, {language: translation}, usage note).
PHRASES = [
    (
        "good morning",
        {"Spanish": "Buenos días", "French": "Bonjour", "German": "Guten Morgen"},
        "It is a polite greeting for the first part of the day.",
    ),
    (
        "thank you very much",
        {"Spanish": "Muchas gracias", "French": "Merci beaucoup", "German": "Vielen Dank"},
        "It is a warm way to show gratitude.",
    ),
    (
        "where is the train station",
        {"Spanish": "¿Dónde está la estación de tren?", "French": "Où est la gare ?", "German": "Wo ist der Bahnhof?"},
        "It is a useful question for travellers.",
    ),
    (
        "I would like a coffee",
        {"Spanish": "Quisiera un café", "French": "Je voudrais un café", "German": "Ich hätte gern einen Kaffee"},
        "It is a polite way to order in a cafe.",
    ),
    (
        "how much does it cost",
        {"Spanish": "¿Cuánto cuesta?", "French": "Combien ça coûte ?", "German": "Wie viel kostet das?"},
        "It is handy when shopping at a market.",
    ),
    (
        "nice to meet you",
        {"Spanish": "Mucho gusto", "French": "Enchanté", "German": "Freut mich"},
        "People say it when they are introduced to someone new.",
    ),
    (
        "see you tomorrow",
        {"Spanish": "Hasta mañana", "French": "À demain", "German": "Bis morgen"},
        "It is a friendly goodbye until the next day.",
    ),
    (
        "I do not understand",
        {"Spanish": "No entiendo", "French": "Je ne comprends pas", "German": "Ich verstehe nicht"},
        "It is one of the most useful phrases for a beginner.",
    ),
    (
        "happy birthday",
        {"Spanish": "Feliz cumpleaños", "French": "Joyeux anniversaire", "German": "Alles Gute zum Geburtstag"},
        "It is the standard birthday wish.",
    ),
    (
        "excuse me",
        {"Spanish": "Disculpe", "French": "Excusez-moi", "German": "Entschuldigung"},
        "It helps you get attention politely or pass through a crowd.",
    ),
    (
        "what is your name",
        {"Spanish": "¿Cómo te llamas?", "French": "Comment tu t'appelles ?", "German": "Wie heißt du?"},
        "This is the informal way to ask for a name.",
    ),
    (
        "the bill please",
        {"Spanish": "La cuenta por favor", "French": "L'addition s'il vous plaît", "German": "Die Rechnung bitte"},
        "You say it to a waiter at the end of a meal.",
    ),
    (
        "I am hungry",
        {"Spanish": "Tengo hambre", "French": "J'ai faim", "German": "Ich habe Hunger"},
        "Many languages say they have hunger rather than are hungry.",
    ),
    (
        "good night",
        {"Spanish": "Buenas noches", "French": "Bonne nuit", "German": "Gute Nacht"},
        "It is said before going to sleep.",
    ),
    (
        "do you speak English",
        {"Spanish": "¿Habla usted inglés?", "French": "Parlez-vous anglais ?", "German": "Sprechen Sie Englisch?"},
        "This polite form is a good choice with strangers.",
    ),
    (
        "welcome",
        {"Spanish": "Bienvenido", "French": "Bienvenue", "German": "Willkommen"},
        "It greets someone who has just arrived.",
    ),
    (
        "I love you",
        {"Spanish": "Te quiero", "French": "Je t'aime", "German": "Ich liebe dich"},
        "It is used with partners and close family.",
    ),
    (
        "cheers",
        {"Spanish": "Salud", "French": "Santé", "German": "Prost"},
        "People say it when they raise their glasses for a toast.",
    ),
    (
        "see you later",
        {"Spanish": "Hasta luego", "French": "À plus tard", "German": "Bis später"},
        "It is a casual goodbye.",
    ),
    (
        "the weather is nice today",
        {
            "Spanish": "Hace buen tiempo hoy",
            "French": "Il fait beau aujourd'hui",
            "German": "Das Wetter ist heute schön",
        },
        "It is an easy way to start small talk.",
    ),
]
LANGUAGE_NOTES = {
    "Spanish": [
        "Spanish is spoken by more than 500 million people.",
        "Spanish questions begin with an upside-down question mark.",
        "Most Spanish letters are pronounced the same way in every word.",
    ],
    "French": [
        "French is an official language in more than twenty countries.",
        "Final consonants in French are often silent.",
        "French uses accents to guide pronunciation.",
    ],
    "German": [
        "German nouns always start with a capital letter.",
        "German has three grammatical genders.",
        "German is the most widely spoken native language in the European Union.",
    ],
}
LANGUAGE_TIPS = [
    "Saying it out loud a few times helps it stick.",
    "Locals appreciate any effort to use their language.",
    "Writing it on a sticky note is a simple way to remember it.",
    "Listening to how native speakers say it helps with the accent.",
]

# ======================================================================================
# Reserve banks: topics used only by the reserve prompt pool (prompt_pool.jsonl), never by
# sft, pairs or eval, so the curriculum notebook can train on "new" prompts without touching
# a training or evaluation topic. Same formats and sentence rules as the banks above. They
# are separate lists (not appended to the banks above) so that the other splits stay byte
# for byte as they were.
# ======================================================================================

RESERVE_GENERAL_KNOWLEDGE = [
    (
        "The Statue of Liberty",
        ["Tell me about the Statue of Liberty.", "Who gave the Statue of Liberty to the United States?"],
        [
            "The Statue of Liberty stands on a small island in New York Harbor.",
            "It was a gift from the people of France to the United States.",
            "The statue was dedicated in 1886.",
            "Its copper skin slowly turned green as it weathered.",
            "It became a symbol of freedom for millions of arriving immigrants.",
        ],
    ),
    (
        "The Panama Canal",
        ["What is the Panama Canal?", "Why is the Panama Canal important for shipping?"],
        [
            "The Panama Canal is a waterway that cuts across the narrow country of Panama.",
            "It links the Atlantic Ocean with the Pacific Ocean.",
            "Ships avoid a long voyage around the southern tip of South America.",
            "A system of locks lifts vessels up to a lake and lowers them again.",
            "The canal opened in 1914 after years of difficult construction.",
        ],
    ),
    (
        "The Olympic Rings",
        ["What do the five Olympic rings stand for?", "Explain the meaning of the Olympic rings."],
        [
            "The Olympic symbol shows five interlocking rings.",
            "The rings represent the union of the five inhabited parts of the world.",
            "Their colours are blue, yellow, black, green, and red on a white background.",
            "Together these colours were said to appear in every national flag of the time.",
            "The symbol was designed by Pierre de Coubertin in 1913.",
        ],
    ),
    (
        "The Dead Sea",
        ["What is special about the Dead Sea?", "Why is it so easy to float in the Dead Sea?"],
        [
            "The Dead Sea is a salt lake in the Jordan Rift Valley.",
            "Its shore is the lowest point of dry land on Earth.",
            "The water is almost ten times saltier than the ocean.",
            "All that salt makes the water so dense that people float easily.",
            "Very few living things survive in it which is how it got its name.",
        ],
    ),
]

RESERVE_SCIENCE = [
    (
        "How Magnets Work",
        ["How do magnets work?", "Why do magnets attract some metals but not others?"],
        [
            "A magnet has a north pole and a south pole.",
            "Opposite poles attract each other and matching poles push apart.",
            "Inside a magnet tiny regions called domains line up in the same direction.",
            "Iron contains domains that line up when a magnet comes close.",
            "That is why a magnet pulls on iron but not on wood or plastic.",
        ],
    ),
    (
        "Why We Sneeze",
        ["Why do we sneeze?", "Explain what happens in the body during a sneeze."],
        [
            "A sneeze is a reflex that clears the nose.",
            "Dust, pollen, or germs irritate the lining inside the nose.",
            "Nerves carry a signal to the brain stem.",
            "The chest muscles then push air out with great force.",
            "The blast of air carries the irritants away.",
        ],
    ),
    (
        "How Lightning Forms",
        ["How does lightning form?", "What causes lightning and thunder during a storm?"],
        [
            "Lightning is a giant spark of electricity in the sky.",
            "Inside a storm cloud ice particles and water droplets crash into each other.",
            "These collisions build up electric charge in different parts of the cloud.",
            "When the charge grows large enough it jumps to the ground or to another cloud.",
            "The flash heats the air so fast that it expands with the sound we call thunder.",
        ],
    ),
    (
        "How Airplanes Fly",
        ["How do airplanes stay in the air?", "Explain how an airplane wing creates lift."],
        [
            "An airplane flies because its wings create lift.",
            "The wing is shaped and tilted so that it pushes air downward.",
            "Pushing air down makes the air push the wing up.",
            "The engines provide thrust that moves the plane forward fast enough.",
            "When lift is greater than the weight of the plane it climbs.",
        ],
    ),
]

RESERVE_POEMS = [
    (
        "The Kite",
        ["Write a short poem about flying a kite.", "Write four rhyming lines about a kite on a windy day."],
        [
            "My kite climbs high on ribbons of wind.",
            "It dances where the clouds are thinned.",
            "I hold the string with all my might.",
            "And watch it soar into the light.",
        ],
    ),
    (
        "The Old Oak Tree",
        [
            "Write a short poem about an old oak tree.",
            "Write a four-line rhyme about a tree that has stood for centuries.",
        ],
        [
            "The oak has stood three hundred years.",
            "It sheltered laughter and some tears.",
            "Its roots run deep beneath the hill.",
            "And through each storm it stands there still.",
        ],
    ),
]

RESERVE_STORIES = [
    (
        "The Lost Penguin",
        [
            "Write a very short story about a penguin who gets lost in a city.",
            "Tell a tiny story about a penguin far from home.",
        ],
        [
            "Pip the penguin waddled off a delivery truck in the middle of a busy city.",
            "The pavement was warm and nobody else wore a tuxedo.",
            "A kind fishmonger noticed him staring at the ice in her window.",
            "She called the aquarium and shared a sardine with him while they waited.",
            "That night Pip told his colony about the strange land of fish shops and traffic lights.",
        ],
    ),
    (
        "The Kindness Jar",
        [
            "Write a very short story about a jar that collects kind notes.",
            "Tell a short story about a classroom kindness jar.",
        ],
        [
            "Miss Ortega put an empty glass jar on her classroom windowsill.",
            "Every time a student saw someone being kind they wrote it on a slip of paper.",
            "At first the jar stayed almost empty and the children forgot about it.",
            "Then a shy boy wrote that someone had shared an umbrella with him.",
            "By the end of the year the jar overflowed and so did the kindness.",
        ],
    ),
]

RESERVE_PROFESSIONAL = [
    (
        "Conference Registration",
        [
            "Write a short email confirming a registration for an industry conference.",
            "Draft a confirmation email for someone who signed up for a conference.",
        ],
        [
            "Thank you for registering for the [event name] conference.",
            "The event takes place on [date] at [venue].",
            "Your badge will be ready at the registration desk from eight in the morning.",
            "Please bring a photo ID to collect it.",
        ],
        "Dear [name],",
    ),
    (
        "Opening Hours Change",
        [
            "Write a short email telling clients that office opening hours are changing.",
            "Draft a notice to customers about new office hours.",
        ],
        [
            "We are writing to let you know about a change to our opening hours.",
            "From [start date] our office will open at [time] on weekdays.",
            "Our phone line and online chat will follow the same hours.",
            "We appreciate your understanding and look forward to serving you.",
        ],
        "Hello,",
    ),
    (
        "Safety Training Notice",
        [
            "Write a short internal announcement about a mandatory safety training session.",
            "Draft a staff notice about required safety training.",
        ],
        [
            "All staff must attend a safety training session on [date].",
            "The session will run from [time] in [room].",
            "It covers fire exits, first aid kits, and how to report a hazard.",
            "Please confirm your attendance with [contact name] by [deadline].",
        ],
        "",
    ),
    (
        "Supplier Introduction",
        [
            "Write a short email introducing your company to a potential supplier.",
            "Draft a first email to a new supplier asking for prices.",
        ],
        [
            "My name is [your name] and I manage purchasing at [company].",
            "We are looking for a reliable supplier of [product] for the coming year.",
            "Could you send us your current price list and delivery times?",
            "I would be glad to arrange a short call to discuss our needs.",
        ],
        "Dear [name],",
    ),
]

RESERVE_PROCEDURES = [
    (
        "Sewing on a Button",
        ["How do I sew a button back on a shirt?", "Give me steps for sewing on a loose button."],
        [
            "Thread a needle and tie a knot at the end of the thread.",
            "Hold the button where the old one was attached.",
            "Push the needle up through the fabric and one hole of the button.",
            "Go down through the opposite hole and repeat this about six times.",
            "Finish on the back of the fabric with a few small knots and trim the thread.",
        ],
    ),
    (
        "Defrosting a Freezer",
        ["How do I defrost a freezer?", "What are the steps to defrost a chest freezer?"],
        [
            "Move the food into a cool box or a neighbour's freezer.",
            "Switch off and unplug the freezer.",
            "Place towels and a tray around the base to catch the water.",
            "Leave the door open and let the ice melt away.",
            "Wipe the inside dry before switching it back on.",
        ],
    ),
    (
        "Writing a Thank-You Card",
        ["How do I write a good thank-you card?", "What steps should I follow to write a thank-you note?"],
        [
            "Start with a warm greeting using the person's name.",
            "Thank them for the specific gift or favour.",
            "Say how you have used it or how it helped you.",
            "Add a line about looking forward to seeing them again.",
            "Sign off with a friendly closing and your name.",
        ],
    ),
    (
        "Changing a Light Bulb",
        ["How do I change a light bulb safely?", "Explain how to replace a ceiling light bulb."],
        [
            "Switch off the light and wait for the bulb to cool.",
            "Stand on a steady step ladder rather than a chair.",
            "Twist the old bulb gently anticlockwise to remove it.",
            "Screw in a new bulb of the same type and fitting.",
            "Switch the light back on to check that it works.",
        ],
    ),
]

RESERVE_DISCUSSIONS = [
    (
        "Working While Studying",
        ["Should university students have part-time jobs?", "Discuss the pros and cons of working while studying."],
        [
            "A part-time job helps students pay for rent and food.",
            "It also teaches time management and teamwork.",
            "On the other hand long shifts leave less time for study and rest.",
            "Grades may suffer if work takes priority during exams.",
            "A small number of hours each week is often a sensible balance.",
        ],
    ),
    (
        "Cash or Cards",
        ["Should shops stop accepting cash?", "Is a cashless society a good idea?"],
        [
            "Card payments are fast and leave a clear record of spending.",
            "Businesses save the time spent counting and banking notes and coins.",
            "However some older people and those without bank accounts rely on cash.",
            "Cash also keeps working when networks or power go down.",
            "Many argue that shops should keep both options for now.",
        ],
    ),
    (
        "Video Games and Learning",
        ["Can video games be good for learning?", "Discuss whether video games help or harm children."],
        [
            "Some video games build problem solving and quick decisions.",
            "Puzzle and strategy games can reward planning and patience.",
            "Yet too much gaming can crowd out exercise and sleep.",
            "Some games are designed to keep players spending money.",
            "Choosing games with care and setting limits matters most.",
        ],
    ),
    (
        "Car-Free City Centres",
        ["Should cars be banned from city centres?", "Discuss the idea of car-free city centres."],
        [
            "Car-free centres have cleaner air and less noise.",
            "Streets become safer for walking and cycling.",
            "Local shops often gain customers who stroll instead of drive.",
            "However deliveries and disabled visitors still need access.",
            "Good public transport is essential before such a ban can work.",
        ],
    ),
]

RESERVE_IMITATIONS = [
    (
        "The Toast Masterclass",
        ["Explain how to make toast in the style of an enthusiastic TV chef."],
        [
            "Welcome back to the kitchen my wonderful food lovers!",
            "Today we are making the king of breakfasts which is toast!",
            "Take one glorious slice of bread and lower it gently into the toaster.",
            "Wait for that golden magic to happen and listen for the pop!",
            "Add butter while it is warm and prepare to be impressed!",
        ],
        "prose",
    ),
    (
        "Bedtime Flight Briefing",
        ["Announce a child's bedtime in the style of a flight attendant's safety briefing."],
        [
            "Good evening passengers and welcome aboard Bedtime Flight Number One.",
            "Please return your toys to their upright and stored position.",
            "Pyjamas must be fastened securely before departure.",
            "In the event of a bad dream a parent will appear from the hallway.",
            "Sit back and relax as we begin our descent into dreamland.",
        ],
        "prose",
    ),
    (
        "An Explorer in the Garden",
        ["Describe a trip to the back garden in the style of an old explorer's diary."],
        [
            "Day one of the expedition and the weather is fair.",
            "We set out from the kitchen door with supplies of biscuits and lemonade.",
            "By noon we had crossed the vast lawn and reached the vegetable beds.",
            "A giant snail blocked our path and we were forced to wait.",
            "We made camp beneath the apple tree and claimed it for science.",
        ],
        "prose",
    ),
    (
        "Recycling Rhyme",
        ["Write a nursery rhyme about recycling.", "Write a short nursery rhyme that teaches children to recycle."],
        [
            "Bottles and cans go in the bin.",
            "Paper and card go folded in.",
            "Sort them well and rinse them clean.",
            "And help to keep our planet green.",
        ],
        "lines",
    ),
]

RESERVE_CLASSIFICATIONS = [
    (
        "Headphones Review",
        [
            'Is this review positive, negative, or neutral? "These headphones are so comfortable that I forget I am wearing them."'
        ],
        "positive",
        [
            "The sentiment is positive.",
            "The reviewer praises how comfortable the headphones are.",
            "Forgetting you are wearing them is a sign of a good fit.",
            "There is no complaint in the review.",
        ],
    ),
    (
        "Octopus",
        ["Is an octopus a fish, a mollusc, or a mammal?"],
        "mollusc",
        [
            "An octopus is a mollusc.",
            "It has a soft body with no backbone.",
            "It is related to snails and clams.",
            "Its eight arms and clever brain make it an unusual mollusc.",
        ],
    ),
    (
        "Account Closure Message",
        [
            'Classify this message as spam or not spam: "Your account will be closed today unless you send your password to this address."'
        ],
        "spam",
        [
            "This message is spam.",
            "It threatens the reader with a sudden account closure.",
            "It asks for a password which real companies never request by email.",
            "These are typical signs of a phishing attempt.",
        ],
    ),
    (
        "Attic Genre",
        [
            'What genre does this sentence suggest: "The floorboards creaked as something moved in the empty attic above."'
        ],
        "horror",
        [
            "The genre is horror.",
            "Creaking floorboards build a feeling of fear.",
            "Something unseen moving in an empty room suggests a threat.",
            "These details are typical of horror stories.",
        ],
    ),
    (
        "Ice",
        ["Is ice a solid, a liquid, or a gas?"],
        "solid",
        [
            "Ice is a solid.",
            "It is water that has frozen.",
            "Water freezes at 0 degrees Celsius at sea level.",
            "Its molecules are held in a fixed pattern so it keeps its shape.",
        ],
    ),
]

RESERVE_PHRASES = [
    (
        "where is the bathroom",
        {"Spanish": "¿Dónde está el baño?", "French": "Où sont les toilettes ?", "German": "Wo ist die Toilette?"},
        "It is one of the first questions travellers learn.",
    ),
    (
        "I am sorry",
        {"Spanish": "Lo siento", "French": "Je suis désolé", "German": "Es tut mir leid"},
        "It is used to apologise for a mistake.",
    ),
    (
        "good luck",
        {"Spanish": "Buena suerte", "French": "Bonne chance", "German": "Viel Glück"},
        "People say it before an exam or a big event.",
    ),
    (
        "how are you",
        {"Spanish": "¿Cómo estás?", "French": "Comment ça va ?", "German": "Wie geht es dir?"},
        "This is the informal way to ask after someone.",
    ),
    (
        "happy new year",
        {"Spanish": "Feliz año nuevo", "French": "Bonne année", "German": "Frohes neues Jahr"},
        "It is the usual greeting at the start of January.",
    ),
]

# ======================================================================================
# Generated items: math word problems and number facts (answers computed here).
# ======================================================================================

NAMES = [
    "Ava",
    "Ben",
    "Cara",
    "Dev",
    "Ella",
    "Finn",
    "Gia",
    "Hugo",
    "Iris",
    "Jon",
    "Kira",
    "Leo",
    "Maya",
    "Nico",
    "Omar",
    "Pia",
    "Ravi",
    "Sara",
    "Theo",
    "Uma",
    "Vera",
    "Will",
    "Zoe",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclasses.dataclass(frozen=True)
class Item:
    category: str
    uid: str
    title: str
    tasks: tuple
    points: tuple  # answer sentences, steps or verse lines (ordered)
    style: str = "prose"  # prose | steps | lines | letter | label | math | document
    greeting: str = ""  # letters only
    json_fields: tuple = ()  # leading JSON fields (label, computed answer, ...)
    complete: bool = False  # must keep every point (a solution, a poem, a procedure)


def math_items(rng: random.Random, n_per_template: int) -> list[Item]:
    def item(kind, title, tasks, points, answer):
        fields = answer if isinstance(answer, tuple) else (("answer", answer),)
        return Item(
            "math_reasoning",
            f"math/{kind}/" + "/".join(str(v) for _, v in fields) + "/" + tasks[0],
            title,
            tuple(tasks),
            tuple(points),
            "math",
            json_fields=fields,
            complete=True,
        )

    def shopping():
        goods = [
            ("notebook", "notebooks", "pen", "pens"),
            ("apple", "apples", "banana", "bananas"),
            ("ticket", "tickets", "drink", "drinks"),
            ("sandwich", "sandwiches", "juice", "juices"),
        ]
        x, xs, y, ys = rng.choice(goods)
        p, q, a, b = rng.randint(2, 9), rng.randint(1, 5), rng.randint(2, 6), rng.randint(2, 8)
        tot = a * p + b * q
        art = "An" if x[0] in "aeiou" else "A"
        return item(
            "shop",
            "Total Cost",
            [
                f"{art} {x} costs {p} dollars and a {y} costs {q} dollars. How much do {a} {xs} and {b} {ys} cost in total?",
                f"Work out the total price of {a} {xs} at {p} dollars each and {b} {ys} at {q} dollars each.",
            ],
            [
                f"The {xs} cost {a} times {p} which is {a * p} dollars.",
                f"The {ys} cost {b} times {q} which is {b * q} dollars.",
                f"Adding the two amounts gives {a * p} plus {b * q} which equals {tot} dollars.",
                f"So the total cost is {tot} dollars.",
            ],
            tot,
        )

    def speed():
        veh = rng.choice(["train", "car", "bus", "cyclist"])
        v = rng.choice([12, 15, 18, 20]) if veh == "cyclist" else rng.choice(range(40, 130, 10))
        t = rng.randint(2, 6)
        return item(
            "speed",
            "Distance Travelled",
            [
                f"A {veh} travels at {v} kilometres per hour for {t} hours. How far does it go?",
                f"How many kilometres does a {veh} cover in {t} hours at a steady {v} kilometres per hour?",
            ],
            [
                "Distance equals speed multiplied by time.",
                f"The speed is {v} kilometres per hour and the time is {t} hours.",
                f"{v} times {t} is {v * t}.",
                f"The {veh} travels {v * t} kilometres.",
            ],
            v * t,
        )

    def discount():
        thing = rng.choice(["jacket", "lamp", "backpack", "pair of boots", "desk chair"])
        pct = rng.choice([10, 20, 25, 50])
        price = rng.choice([p for p in range(40, 201, 20) if p * pct % 100 == 0])
        off = price * pct // 100
        return item(
            "discount",
            "Sale Price",
            [
                f"A {thing} costs {price} dollars and is on sale for {pct} percent off. What is the sale price?",
                f"What does a {price} dollar {thing} cost after a {pct} percent discount?",
            ],
            [
                f"The discount is {pct} percent of {price} dollars.",
                f"{pct} percent of {price} is {off} dollars.",
                f"Subtracting gives {price} minus {off} which is {price - off}.",
                f"The sale price is {price - off} dollars.",
            ],
            price - off,
        )

    def rectangle():
        place = rng.choice(["garden", "classroom", "car park", "swimming pool"])
        l = rng.randint(5, 20)
        w = rng.randint(2, l - 1)
        return item(
            "rect",
            "Area and Perimeter",
            [
                f"A {place} is {l} metres long and {w} metres wide. What are its area and perimeter?",
                f"Find the area and the perimeter of a rectangular {place} measuring {l} metres by {w} metres.",
            ],
            [
                "The area of a rectangle is its length times its width.",
                f"{l} times {w} gives an area of {l * w} square metres.",
                "The perimeter is two times the sum of the length and the width.",
                f"Two times {l + w} gives a perimeter of {2 * (l + w)} metres.",
            ],
            (("area", l * w), ("perimeter", 2 * (l + w))),
        )

    def average():
        who = rng.choice(NAMES)
        s = [rng.randint(60, 100) for _ in range(3)]
        s.append(rng.choice([x for x in range(60, 101) if (sum(s) + x) % 4 == 0]))
        tot = sum(s)
        return item(
            "avg",
            "Average Score",
            [
                f"{who} scored {s[0]}, {s[1]}, {s[2]}, and {s[3]} on four tests. What is the average score?",
                f"What is the mean of the test scores {s[0]}, {s[1]}, {s[2]}, and {s[3]}?",
            ],
            [
                f"Adding the scores gives {s[0]} plus {s[1]} plus {s[2]} plus {s[3]} which is {tot}.",
                "There are four scores.",
                f"{tot} divided by 4 is {tot // 4}.",
                f"The average score is {tot // 4}.",
            ],
            tot // 4,
        )

    def ages():
        a, b = rng.sample(NAMES, 2)
        young, x, y = rng.randint(5, 20), rng.randint(2, 10), rng.randint(2, 10)
        s = 2 * young + x + 2 * y
        return item(
            "age",
            "Age Puzzle",
            [f"{a} is {x} years older than {b}. In {y} years the sum of their ages will be {s}. How old is {b} now?"],
            [
                f"Call the age of {b} now b so {a} is b plus {x}.",
                f"In {y} years they will be b plus {y} and b plus {x + y}.",
                f"Their sum is 2b plus {x + 2 * y} which must equal {s}.",
                f"So 2b is {s - x - 2 * y} and b is {young}.",
                f"{b} is {young} years old now.",
            ],
            young,
        )

    def sequence():
        if rng.random() < 0.6:
            start, d = rng.randint(1, 20), rng.randint(2, 9)
            t = [start + i * d for i in range(5)]
            rule, step = f"Each number is {d} more than the one before.", f"{t[3]} plus {d} is {t[4]}."
        else:
            start, r = rng.randint(1, 5), rng.choice([2, 3])
            t = [start * r**i for i in range(5)]
            rule, step = f"Each number is {r} times the one before.", f"{t[3]} times {r} is {t[4]}."
        return item(
            "seq",
            "Next in the Sequence",
            [
                f"What number comes next in the sequence {t[0]}, {t[1]}, {t[2]}, {t[3]}?",
                f"Find the next term: {t[0]}, {t[1]}, {t[2]}, {t[3]}.",
            ],
            [rule, f"The last number shown is {t[3]}.", step, f"The next number is {t[4]}."],
            t[4],
        )

    def pizza():
        n = rng.randint(2, 6)
        slices = rng.choice([6, 8, 10, 12])
        k = rng.choice([k for k in range(1, 9) if k * slices % n == 0])
        tot = k * slices
        return item(
            "pizza",
            "Sharing Pizza",
            [f"{n} friends share {k} pizzas cut into {slices} slices each. How many slices does each friend get?"],
            [
                f"There are {k} pizzas with {slices} slices each.",
                f"That makes {k} times {slices} which is {tot} slices.",
                f"Sharing {tot} slices among {n} friends means dividing {tot} by {n}.",
                f"Each friend gets {tot // n} slices.",
            ],
            tot // n,
        )

    def film():
        h0, m0 = rng.randint(9, 20), rng.choice(range(0, 60, 5))
        dur = rng.choice([d for d in range(65, 180, 5) if d % 60])
        dh, dm = divmod(dur, 60)
        mid = f"{h0 + dh}:{m0:02d}"
        end_min = h0 * 60 + m0 + dur
        end = f"{end_min // 60 % 24}:{end_min % 60:02d}"
        hours = "1 hour" if dh == 1 else f"{dh} hours"
        return item(
            "film",
            "When the Film Ends",
            [f"A film starts at {h0}:{m0:02d} and lasts {dur} minutes. At what time does it end?"],
            [
                f"The film lasts {dur} minutes which is {hours} and {dm} minutes.",
                f"Adding {hours} to {h0}:{m0:02d} gives {mid}.",
                f"Adding {dm} more minutes gives {end}.",
                f"The film ends at {end}.",
            ],
            end,
        )

    def weekday():
        today = rng.randrange(7)
        n = rng.choice([k for k in range(3, 60) if k % 7])
        r = n % 7
        day = WEEKDAYS[(today + r) % 7]
        return item(
            "day",
            "Day of the Week",
            [f"If today is {WEEKDAYS[today]}, what day of the week will it be in {n} days?"],
            [
                "The days of the week repeat every 7 days.",
                f"{n} divided by 7 leaves a remainder of {r}.",
                f"Counting {r} days forward from {WEEKDAYS[today]} gives {day}.",
                f"In {n} days it will be {day}.",
            ],
            day,
        )

    def minutes():
        h, m = rng.randint(2, 9), rng.randint(5, 55)
        return item(
            "min",
            "Converting Time",
            [f"How many minutes are there in {h} hours and {m} minutes?"],
            [
                "One hour has 60 minutes.",
                f"{h} hours is {h} times 60 which is {h * 60} minutes.",
                f"Adding {m} minutes gives {h * 60 + m} minutes.",
                f"So {h} hours and {m} minutes is {h * 60 + m} minutes.",
            ],
            h * 60 + m,
        )

    def percent():
        pct = rng.choice([10, 20, 25, 30, 40, 50, 60, 75])
        n = rng.choice([k for k in range(40, 801, 20) if k * pct % 100 == 0])
        how = rng.choice(["walk", "cycle", "take the bus"])
        return item(
            "pct",
            "Percent of a Group",
            [f"{pct} percent of the {n} students at a school {how} to school. How many students is that?"],
            [
                f"Finding {pct} percent means multiplying by {pct} and dividing by 100.",
                f"{n} times {pct} is {n * pct}.",
                f"{n * pct} divided by 100 is {n * pct // 100}.",
                f"So {n * pct // 100} students {how} to school.",
            ],
            n * pct // 100,
        )

    def rate():
        thing = rng.choice(["bottles", "cookies", "bolts", "labels"])
        r, h = rng.randint(5, 40), rng.randint(1, 4)
        return item(
            "rate",
            "Production Rate",
            [f"A machine makes {r} {thing} per minute. How many {thing} does it make in {h} hours?"],
            [
                f"One hour has 60 minutes so {h} hours is {h * 60} minutes.",
                f"The machine makes {r} {thing} each minute.",
                f"{r} times {h * 60} is {r * h * 60}.",
                f"It makes {r * h * 60} {thing} in {h} hours.",
            ],
            r * h * 60,
        )

    def coins():
        who = rng.choice(NAMES)
        a, b = rng.randint(2, 15), rng.randint(2, 15)
        return item(
            "coins",
            "Counting Coins",
            [f"{who} has {a} coins worth 5 cents and {b} coins worth 10 cents. How many cents is that in total?"],
            [
                f"The 5 cent coins are worth {a} times 5 which is {5 * a} cents.",
                f"The 10 cent coins are worth {b} times 10 which is {10 * b} cents.",
                f"Together that is {5 * a} plus {10 * b} which is {5 * a + 10 * b} cents.",
                f"{who} has {5 * a + 10 * b} cents in total.",
            ],
            5 * a + 10 * b,
        )

    def ordering():
        a, b, c = rng.sample(NAMES, 3)
        rel, lo, hi = rng.choice(
            [("taller", "shortest", "tallest"), ("older", "youngest", "oldest"), ("faster", "slowest", "fastest")]
        )
        ask_low = rng.random() < 0.5
        q, ans = (lo, c) if ask_low else (hi, a)
        return item(
            "order",
            "Ordering Puzzle",
            [f"{a} is {rel} than {b}. {b} is {rel} than {c}. Who is the {q}?"],
            [
                f"{a} is {rel} than {b} and {b} is {rel} than {c}.",
                f"So the order from {hi} to {lo} is {a} then {b} then {c}.",
                "The comparison carries over from one person to the next.",
                f"{ans} is the {q}.",
            ],
            ans,
        )

    templates = [
        shopping,
        speed,
        discount,
        rectangle,
        average,
        ages,
        sequence,
        pizza,
        film,
        weekday,
        minutes,
        percent,
        rate,
        coins,
        ordering,
    ]
    out, seen = [], set()
    for _ in range(n_per_template):
        for make in templates:
            for _try in range(20):
                it = make()
                if it.uid not in seen:
                    seen.add(it.uid)
                    out.append(it)
                    break
    return out


def number_items(rng: random.Random) -> list[Item]:
    """Computed classification items: prime or composite, leap year or not."""
    out = []
    for n in rng.sample(range(11, 200), 40):
        d = next((k for k in range(2, math.isqrt(n) + 1) if n % k == 0), None)
        if d is None:
            label, pts = (
                "prime",
                [
                    f"{n} is a prime number.",
                    "It has no divisors other than 1 and itself.",
                    f"None of the whole numbers from 2 to {math.isqrt(n)} divide it evenly.",
                    "That matches the definition of a prime number.",
                ],
            )
        else:
            label, pts = (
                "composite",
                [
                    f"{n} is a composite number.",
                    f"It can be divided evenly by {d}.",
                    f"{d} times {n // d} equals {n}.",
                    "A number with a divisor other than 1 and itself is composite.",
                ],
            )
        out.append(
            Item(
                "classification",
                f"prime/{n}",
                "Prime or Composite",
                (f"Is {n} a prime number or a composite number?", f"Classify {n} as prime or composite."),
                tuple(pts),
                "label",
                json_fields=(("label", label),),
                complete=True,
            )
        )
    for y in rng.sample(range(1800, 2101), 24):
        if y % 400 == 0:
            label, pts = (
                "leap year",
                [
                    f"{y} is a leap year.",
                    f"{y} is divisible by 400.",
                    "Century years are leap years only when they divide evenly by 400.",
                    f"So {y} has 366 days.",
                ],
            )
        elif y % 100 == 0:
            label, pts = (
                "common year",
                [
                    f"{y} is not a leap year.",
                    f"{y} is a century year that is not divisible by 400.",
                    "Century years are leap years only when they divide evenly by 400.",
                    f"So {y} has 365 days.",
                ],
            )
        elif y % 4 == 0:
            label, pts = (
                "leap year",
                [
                    f"{y} is a leap year.",
                    f"{y} is divisible by 4 and is not a century year.",
                    "Such years get an extra day on 29 February.",
                    f"So {y} has 366 days.",
                ],
            )
        else:
            label, pts = (
                "common year",
                [
                    f"{y} is not a leap year.",
                    f"{y} is not divisible by 4.",
                    "Only years divisible by 4 can be leap years.",
                    f"So {y} has 365 days.",
                ],
            )
        out.append(
            Item(
                "classification",
                f"leap/{y}",
                "Leap Year Check",
                (f"Is {y} a leap year or a common year?", f"Classify the year {y} as a leap year or a common year."),
                tuple(pts),
                "label",
                json_fields=(("label", label),),
                complete=True,
            )
        )
    return out


def multilingual_items(phrases=None, start: int = 0) -> list[tuple[int, Item]]:
    out = []
    for i, (en, trans, note) in enumerate(PHRASES if phrases is None else phrases, start):
        for j, (lang, t) in enumerate(trans.items()):
            lang_note = LANGUAGE_NOTES[lang][(i + j) % 3]
            tip = LANGUAGE_TIPS[(i + 2 * j) % len(LANGUAGE_TIPS)]
            out.append(
                (
                    i,
                    Item(
                        "multilingual",
                        f"ml/{en}/{lang}/to",
                        f"Saying {en} in {lang}",
                        (
                            f'How do you say "{en}" in {lang}?',
                            f'Translate "{en}" into {lang} and tell me when to use it.',
                        ),
                        (f'In {lang} you say "{t}" for "{en}".', note, lang_note, tip),
                    ),
                )
            )
            out.append(
                (
                    i,
                    Item(
                        "multilingual",
                        f"ml/{en}/{lang}/from",
                        f"The {lang} phrase {t}",
                        (
                            f'What does the {lang} phrase "{t}" mean in English?',
                            f'I heard someone say "{t}" in {lang}. What does it mean?',
                        ),
                        (f'The {lang} phrase "{t}" means "{en}".', note, lang_note, tip),
                    ),
                )
            )
    return out


def build_pools() -> dict[str, dict[str, list[Item]]]:
    """Items per category, split into a held-out pool (eval) and a training pool (sft, pairs)."""
    rng = random.Random(f"{SEED}-pools")
    pools = {c: {"train": [], "eval": []} for c in CATEGORIES}

    def add(cat, items_with_index):
        for i, it in items_with_index:
            pools[cat]["eval" if i % 5 == 4 else "train"].append(it)

    def simple(cat, bank, style, complete=False):
        return [
            (i, Item(cat, f"{cat}/{t}", t, tuple(tasks), tuple(pts), style, complete=complete))
            for i, (t, tasks, pts) in enumerate(bank)
        ]

    add("general_knowledge", simple("general_knowledge", GENERAL_KNOWLEDGE, "prose"))
    add("science_explanation", simple("science_explanation", SCIENCE, "prose"))
    add("open_discussion", simple("open_discussion", DISCUSSIONS, "prose"))
    add("instructions_procedures", simple("instructions_procedures", PROCEDURES, "steps", complete=True))
    add(
        "creative_writing",
        simple("creative_writing", POEMS, "lines", complete=True)
        + simple("creative_writing", STORIES, "prose", complete=True),
    )
    add(
        "imitation_writing",
        [
            (i, Item("imitation_writing", f"imitation/{t}", t, tuple(tasks), tuple(pts), style, complete=True))
            for i, (t, tasks, pts, style) in enumerate(IMITATIONS)
        ],
    )
    add(
        "professional_writing",
        [
            (
                i,
                Item(
                    "professional_writing",
                    f"pro/{t}",
                    t,
                    tuple(tasks),
                    tuple(pts),
                    "letter" if greet else "document",
                    greeting=greet,
                    complete=True,
                ),
            )
            for i, (t, tasks, pts, greet) in enumerate(PROFESSIONAL)
        ],
    )
    add(
        "classification",
        [
            (
                i,
                Item(
                    "classification",
                    f"cls/{t}",
                    t,
                    tuple(tasks),
                    tuple(pts),
                    "label",
                    json_fields=(("label", label),),
                    complete=True,
                ),
            )
            for i, (t, tasks, label, pts) in enumerate(CLASSIFICATIONS)
        ],
    )
    add("classification", enumerate(number_items(rng)))
    add("multilingual", multilingual_items())
    add("math_reasoning", enumerate(math_items(rng, 20)))
    return pools


POOL_PER_CATEGORY = 35
POOL_FIRST_KEY = 10001
POOL_NUMBER_ITEMS = {"prime": 12, "leap": 8}  # computed classification items beside the text ones


def build_reserve_pools(pools=None) -> dict[str, list[Item]]:
    """Items for the reserve prompt pool, per category: the reserve banks' topics plus freshly
    generated math problems and prime/leap-year questions. Computed items that coincide with an
    item of ``build_pools()`` (same uid or task text) are dropped, so no pool topic or task is in
    sft, pairs or eval. Own seed: building it leaves the other splits' random streams alone."""
    pools = build_pools() if pools is None else pools
    taken = [it for c in pools for part in pools[c].values() for it in part]
    taken_uids = {it.uid for it in taken}
    taken_tasks = {t for it in taken for t in it.tasks}
    rng = random.Random(f"{SEED}-reserve")

    def fresh(items):
        return [it for it in items if it.uid not in taken_uids and not set(it.tasks) & taken_tasks]

    def simple(cat, bank, style, complete=False):
        return [
            Item(cat, f"{cat}/{t}", t, tuple(tasks), tuple(pts), style, complete=complete) for t, tasks, pts in bank
        ]

    reserve = {
        "general_knowledge": simple("general_knowledge", RESERVE_GENERAL_KNOWLEDGE, "prose"),
        "science_explanation": simple("science_explanation", RESERVE_SCIENCE, "prose"),
        "open_discussion": simple("open_discussion", RESERVE_DISCUSSIONS, "prose"),
        "instructions_procedures": simple("instructions_procedures", RESERVE_PROCEDURES, "steps", complete=True),
        "creative_writing": (
            simple("creative_writing", RESERVE_POEMS, "lines", complete=True)
            + simple("creative_writing", RESERVE_STORIES, "prose", complete=True)
        ),
        "imitation_writing": [
            Item("imitation_writing", f"imitation/{t}", t, tuple(tasks), tuple(pts), style, complete=True)
            for t, tasks, pts, style in RESERVE_IMITATIONS
        ],
        "professional_writing": [
            Item(
                "professional_writing",
                f"pro/{t}",
                t,
                tuple(tasks),
                tuple(pts),
                "letter" if greet else "document",
                greeting=greet,
                complete=True,
            )
            for t, tasks, pts, greet in RESERVE_PROFESSIONAL
        ],
        "classification": [
            Item(
                "classification",
                f"cls/{t}",
                t,
                tuple(tasks),
                tuple(pts),
                "label",
                json_fields=(("label", label),),
                complete=True,
            )
            for t, tasks, label, pts in RESERVE_CLASSIFICATIONS
        ],
        "multilingual": [it for _, it in multilingual_items(RESERVE_PHRASES, start=len(PHRASES))],
        "math_reasoning": fresh(math_items(rng, 4)),
    }
    numbers = fresh(number_items(rng))
    for kind, n in POOL_NUMBER_ITEMS.items():
        reserve["classification"] += [it for it in numbers if it.uid.startswith(kind + "/")][:n]
    for cat, items in reserve.items():
        assert len({it.uid for it in items}) == len(items), cat
        assert not {it.uid for it in items} & taken_uids and not {t for it in items for t in it.tasks} & taken_tasks, (
            cat
        )
    return reserve


# ======================================================================================
# Instructions: how a prompt states them, which combine, and the reference checks.
# ======================================================================================

LOWER, UPPER = "change_case:english_lowercase", "change_case:english_capital"
WORDS, SENTS, PARAS = (
    "length_constraints:number_words",
    "length_constraints:number_sentences",
    "length_constraints:number_paragraphs",
)
KW_EXIST, KW_FORBID, KW_FREQ = "keywords:existence", "keywords:forbidden_words", "keywords:frequency"
BULLETS, JSONF, TITLE = (
    "detectable_format:number_bullet_lists",
    "detectable_format:json_format",
    "detectable_format:title",
)
HIGHLIGHT, SECTIONS = "detectable_format:number_highlighted_sections", "detectable_format:multiple_sections"
QUOTE, END, PS = "startend:quotation", "startend:end_checker", "detectable_content:postscript"
NOCOMMA, PLACEHOLDERS = "punctuation:no_comma", "detectable_content:number_placeholders"
ALL_IDS = [
    LOWER,
    UPPER,
    WORDS,
    SENTS,
    PARAS,
    KW_EXIST,
    KW_FORBID,
    KW_FREQ,
    BULLETS,
    JSONF,
    QUOTE,
    END,
    PS,
    HIGHLIGHT,
    SECTIONS,
    TITLE,
    NOCOMMA,
    PLACEHOLDERS,
]

# Pairs that are never combined: contradictory (lowercase vs capitals), structurally
# clashing (JSON vs bullets), or combinations where IFEval-faithful judges could disagree
# (sentence counts in bulleted text, "Section" headers after a case change, ...).
_CONFLICTS = [
    (LOWER, UPPER),
    (LOWER, SECTIONS),
    (UPPER, SECTIONS),
    (LOWER, PS),
    (LOWER, END),
    (UPPER, END),
    (LOWER, SENTS),
    (UPPER, SENTS),
    *[(JSONF, x) for x in (BULLETS, PARAS, SECTIONS, TITLE, QUOTE, END, PS, HIGHLIGHT, SENTS, NOCOMMA)],
    *[(QUOTE, x) for x in (END, BULLETS)],
    (END, PS),
    *[(BULLETS, x) for x in (HIGHLIGHT, SECTIONS, PARAS, SENTS)],
    *[(SECTIONS, x) for x in (PARAS, SENTS)],
    (PARAS, SENTS),
    *[(SENTS, x) for x in (TITLE, PS, HIGHLIGHT, PLACEHOLDERS)],
]
CONFLICTS = {a: set() for a in ALL_IDS}
for _a, _b in _CONFLICTS:
    CONFLICTS[_a].add(_b)
    CONFLICTS[_b].add(_a)


def allowed_ids(item: Item) -> list[str]:
    ids = [i for i in ALL_IDS if i != PLACEHOLDERS or item.category == "professional_writing"]
    if item.category == "multilingual":  # langdetect must see English for the case checks
        ids = [i for i in ids if i not in (LOWER, UPPER, SENTS)]
    if item.style in ("lines", "letter"):
        ids = [i for i in ids if i not in (BULLETS, SECTIONS, SENTS)]
    if item.style == "letter":
        ids = [i for i in ids if i not in (END, QUOTE)]
    if item.style == "document":
        ids = [i for i in ids if i != SENTS]
    if not all(re.fullmatch(r"[^.!?]*[.!?]", p) for p in item.points):
        ids = [i for i in ids if i != SENTS]
    return ids


PHRASING = {
    LOWER: [
        "Write your whole reply in lowercase letters only; capital letters are not allowed.",
        "Use no capital letters anywhere in your answer.",
        "Reply entirely in lowercase English.",
    ],
    UPPER: [
        "Write your whole reply in capital letters.",
        "Use only uppercase English letters in your answer.",
        "Reply entirely in uppercase English.",
    ],
    (WORDS, "less than"): [
        "Keep the answer under {n} words.",
        "Use fewer than {n} words.",
        "Your reply must stay below {n} words.",
    ],
    (WORDS, "at least"): [
        "Write at least {n} words.",
        "Make the answer {n} words or longer.",
        "Use a minimum of {n} words.",
    ],
    (SENTS, "less than"): ["Answer in fewer than {n} sentences.", "Use less than {n} sentences in total."],
    (SENTS, "at least"): ["Use at least {n} sentences.", "Write no fewer than {n} sentences."],
    PARAS: [
        "Split the reply into exactly {n} paragraphs and put *** on its own line between them.",
        "Write exactly {n} paragraphs separated by the divider ***.",
    ],
    KW_EXIST: [
        "Mention the {word} {list}.",
        "Be sure to use the {keyword} {list}.",
        "Include the {term} {list} somewhere in your reply.",
    ],
    KW_FORBID: ["Never use the {word} {list}.", "Avoid the {word} {list} completely."],
    (KW_FREQ, "at least"): ['Use the word "{w}" at least {n} times.', 'Repeat the word "{w}" {n} or more times.'],
    (KW_FREQ, "less than"): ['Use the word "{w}" fewer than {n} times.', 'Mention "{w}" less than {n} times.'],
    BULLETS: [
        "Answer with exactly {n} markdown bullet points that start with an asterisk.",
        "Give exactly {n} bullet points written as lines that begin with * and a space.",
    ],
    JSONF: [
        "Return the whole reply as a valid JSON object.",
        "Format everything you write as JSON.",
        "Reply with JSON only.",
    ],
    QUOTE: ["Put the entire reply inside double quotation marks.", "Enclose your whole answer in double quotes."],
    END: [
        'Finish with the exact sentence "{p}" and write nothing after it.',
        'The last words of your reply must be "{p}"',
    ],
    PS: ["Add a postscript at the end that starts with P.S.", "Close with a short note beginning with P.S."],
    HIGHLIGHT: [
        "Highlight at least {n} key {word} with markdown italics like *this*.",
        "Emphasise at least {n} important {word} by wrapping {them} in single asterisks.",
    ],
    SECTIONS: [
        "Organise the reply into {n} sections that begin with Section 1, Section 2, and so on.",
        "Divide your answer into {n} parts headed Section 1 to Section {n}.",
    ],
    TITLE: [
        "Give the reply a title in double angular brackets like <<title>>.",
        "Start with a title wrapped in double angle brackets such as <<my title>>.",
    ],
    NOCOMMA: ["Do not use any commas.", "Your reply must not contain a single comma.", "Avoid commas entirely."],
    PLACEHOLDERS: [
        "Include at least {n} {placeholder} in square brackets such as [name].",
        "Leave at least {n} {blank} written in square brackets like [date].",
    ],
}

END_PHRASES = [
    "Hope this helps.",
    "Thanks for reading.",
    "Let me know if you have more questions.",
    "That is all for now.",
    "Happy learning!",
    "Good luck!",
    "Have a wonderful day.",
]
CREATIVE_END_PHRASES = ["The end.", "And that is the whole tale.", "Thanks for reading."]
PS_NOTES = {
    "math_reasoning": [
        "You can check the answer by working backwards.",
        "Writing each step down makes mistakes easier to spot.",
    ],
    "general_knowledge": [
        "An atlas or an encyclopedia is a great place to learn more.",
        "Facts like this make great quiz questions.",
    ],
    "science_explanation": [
        "A simple home experiment can make this idea easier to see.",
        "Drawing a quick diagram helps this idea stick.",
    ],
    "creative_writing": ["I wrote this with a quiet evening in mind.", "Feel free to change the names or the setting."],
    "professional_writing": [
        "Please check the details in brackets before sending.",
        "Feel free to adjust the tone to suit your workplace.",
    ],
    "instructions_procedures": ["Take your time the first time you try this.", "Keep these steps handy for next time."],
    "multilingual": [
        "Listening to native speakers helps with pronunciation.",
        "Practising with a friend makes new phrases easier to remember.",
    ],
    "open_discussion": [
        "People disagree on this so it is worth hearing several views.",
        "Your own situation may tip the balance either way.",
    ],
    "imitation_writing": ["I had fun writing in this style.", "Reading it out loud makes the style shine."],
    "classification": [
        "Looking for clue words is a quick way to classify text.",
        "Borderline cases are worth a second look.",
    ],
}
BULLET_INTROS = {
    "instructions_procedures": ["Follow these steps:", "Here is how to do it:", ""],
    "math_reasoning": ["Here is the working:", ""],
    "": ["Here are the key points:", "In brief:", ""],
}

# Words a forbidden-words instruction bans, with the sentence a careless answer adds.
FILLERS = {
    "basically": "Basically it all comes down to a few simple ideas.",
    "really": "This is really worth knowing.",
    "actually": "Actually the answer is easier than it looks.",
    "obviously": "Obviously there is more to say than fits here.",
    "literally": "It literally comes up all the time.",
    "stuff": "There is a lot of interesting stuff here.",
    "honestly": "Honestly this is one of my favourite questions.",
    "amazing": "It is an amazing topic.",
    "awesome": "This is an awesome question.",
    "definitely": "You should definitely know this.",
    "simply": "Simply put the idea is this.",
    "nice": "That is a nice question to ask.",
}
RAMBLE = [
    "There is a lot more that could be said about this.",
    "Different sources explain it in slightly different ways.",
    "It is worth looking into further if you have the time.",
    "Many people find the details surprising at first.",
    "This comes up more often than you might expect.",
    "Of course every situation is a little different.",
    "It helps to keep the bigger picture in mind.",
]
EVASIVE = [
    "That is a great question. The answer depends on many factors and there is no single correct view. It is best to look at several sources and decide for yourself.",
    "I am not able to give a complete answer to that right now. You may want to consult a specialist or a reliable reference for accurate details.",
    "Sure! This is an interesting topic with many sides to it. People have different opinions about it, and the details can get complicated.",
    "Thanks for asking. There are lots of things to consider here. In general, it is a good idea to think carefully and do some research before drawing conclusions.",
    "I'm sorry, but I can't help with that request.",
    "Good question! Unfortunately I do not have enough information to answer that well.",
]
STOPWORDS = set(
    """
about above after again against along also although among another around because been before being
below between both could does doing down during each every from further have having here into itself
just made make many more most much must only other over same should since some such than that their
them then there these they this those through under until upon very were what when where which while
whom whose will with within without would your yours into onto still even less first often later well
back like used uses using gives given takes into across toward towards perhaps others things thing
something nothing everything anything someone everyone anyone always never ever once part parts
""".split()
)


# ---------------------------------------------------------------------------------------
# Reference checks: IFEval's rules, each under two readings; "pass" means both readings
# pass and "fail" means both fail, so a faithful IFEval judge agrees with either verdict.
# ---------------------------------------------------------------------------------------


def _count_words(text, reading):
    return len(re.findall(r"\w+", text)) if reading == 0 else len(text.split())


def _count_sentences(text, reading):
    pattern = r"(?<=[.!?])[\"']?\s+" if reading == 0 else r"(?<=[.!?])[\"']?\s+(?=[A-Z0-9\"'])"
    return len([s for s in re.split(pattern, text.strip()) if re.search(r"\w", s)])


def _json_ok(text, reading):
    value = text.strip()
    if reading == 0:
        for fence in ("```json", "```Json", "```JSON", "```"):
            value = value.removeprefix(fence)
        value = value.removesuffix("```").strip()
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def _paragraphs(text, reading):
    if reading == 1:
        parts = re.split(r"\n\s*\*\*\*\s*\n", text)
        return len([p for p in parts if p.strip()]) if all(p.strip() for p in parts) else -1
    parts = re.split(r"\s?\*\*\*\s?", text)
    n = len(parts)
    for i, p in enumerate(parts):
        if not p.strip():
            if i in (0, len(parts) - 1):
                n -= 1
            else:
                return -1
    return n


def _compare(count, n, relation):
    return count < n if relation == "less than" else count >= n


def follows(iid: str, kw: dict, text: str, reading: int) -> bool:
    if iid == LOWER:
        return text == text.lower() and any(ch.isalpha() for ch in text)
    if iid == UPPER:
        return text == text.upper() and any(ch.isalpha() for ch in text)
    if iid == WORDS:
        return _compare(_count_words(text, reading), kw["num_words"], kw["relation"])
    if iid == SENTS:
        return _compare(_count_sentences(text, reading), kw["num_sentences"], kw["relation"])
    if iid == PARAS:
        return _paragraphs(text, reading) == kw["num_paragraphs"]
    if iid == KW_EXIST:
        pat = (lambda w: w) if reading == 0 else (lambda w: rf"\b{re.escape(w)}\b")
        return all(re.search(pat(w), text, flags=re.IGNORECASE) for w in kw["keywords"])
    if iid == KW_FORBID:
        pat = (lambda w: rf"\b{w}\b") if reading == 0 else (lambda w: re.escape(w))
        return not any(re.search(pat(w), text, flags=re.IGNORECASE) for w in kw["forbidden_words"])
    if iid == KW_FREQ:
        pat = kw["keyword"] if reading == 0 else rf"\b{re.escape(kw['keyword'])}\b"
        return _compare(len(re.findall(pat, text, flags=re.IGNORECASE)), kw["frequency"], kw["relation"])
    if iid == BULLETS:
        if reading == 0:
            n = len(re.findall(r"^\s*\*[^\*].*$", text, flags=re.M)) + len(re.findall(r"^\s*-.*$", text, flags=re.M))
        else:
            n = len(re.findall(r"^\s*[*-] +\S", text, flags=re.M))
        return n == kw["num_bullets"]
    if iid == JSONF:
        return _json_ok(text, reading)
    if iid == QUOTE:
        t = text.strip()
        return len(t) > 1 and t[0] == '"' and t[-1] == '"'
    if iid == END:
        return (
            text.strip().lower().endswith(kw["end_phrase"].strip().lower())
            if reading == 0
            else text.rstrip().endswith(kw["end_phrase"].strip())
        )
    if iid == PS:
        return (
            bool(re.findall(r"\s*p\.\s?s\..*$", text.lower(), flags=re.M))
            if reading == 0
            else bool(re.search(r"^\s*\"?P\.S\. ", text, flags=re.M))
        )
    if iid == HIGHLIGHT:
        if reading == 0:
            n = sum(1 for h in re.findall(r"\*[^\n\*]*\*", text) if h.strip("*").strip())
            n += sum(1 for h in re.findall(r"\*\*[^\n\*]*\*\*", text) if h[2:-2].strip())
        else:
            n = len(re.findall(r"(?<!\*)\*[^\s*][^\n*]*\*(?!\*)", text))
        return n >= kw["num_highlights"]
    if iid == SECTIONS:
        if reading == 0:
            n = len(re.split(r"\s?" + kw["section_spliter"] + r"\s?\d+\s?", text)) - 1
        else:
            n = len(re.findall(r"^\W*" + kw["section_spliter"] + r" \d+", text, flags=re.M))
        return n >= kw["num_sections"]
    if iid == TITLE:
        return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", text))
    if iid == NOCOMMA:
        return "," not in text
    if iid == PLACEHOLDERS:
        return len(re.findall(r"\[.*?\]", text)) >= kw["num_placeholders"]
    raise KeyError(iid)


def detected_as_english(text: str) -> bool:
    """IFEval's case checks also need ``langdetect.detect(text) == "en"``; text in capitals
    full of numbers often fails that. IFEval does not seed langdetect, so demand a clear margin
    (English at probability >= 0.99 under seed 0) rather than a bare win."""
    import langdetect  # a dependency of the judge; needed to build case-instruction examples

    factory = langdetect.detector_factory
    old = factory.DetectorFactory.seed
    try:
        factory.DetectorFactory.seed = 0
        return any(p.lang == "en" and p.prob >= 0.99 for p in langdetect.detect_langs(text))
    except langdetect.LangDetectException:
        return True  # IFEval counts an undetectable language as a pass
    finally:
        factory.DetectorFactory.seed = old


def verdict(iid, kw, text):
    results = {follows(iid, kw, text, r) for r in (0, 1)}
    return "pass" if results == {True} else "fail" if results == {False} else "unclear"


def passes_all(ids, kwargs, text):
    return all(verdict(i, k, text) == "pass" for i, k in zip(ids, kwargs))


def fails_some(ids, kwargs, text):
    return any(verdict(i, k, text) == "fail" for i, k in zip(ids, kwargs))


# ======================================================================================
# Rendering: an answer layout -> response text
# ======================================================================================


@dataclasses.dataclass(frozen=True)
class Layout:
    points: tuple
    structure: str = "plain"  # plain | bullets | paragraphs | sections | json
    groups: int = 1
    intro: str = ""
    title: str | None = None
    markdown_title: bool = False
    highlights: int = 0
    ps: str | None = None
    end_phrase: str | None = None
    after_end: str | None = None
    opener: str | None = None
    json_prefix: str | None = None
    fill_placeholders: bool = False
    no_comma: bool = False
    case: str | None = None
    quote: bool = False
    section_word: str = "Section"


def _groups(points, n):
    size, extra = divmod(len(points), n)
    out, i = [], 0
    for g in range(n):
        k = size + (1 if g < extra else 0)
        out.append(points[i : i + k])
        i += k
    return out


def _join(item, pts):
    return "\n".join(pts) if item.style == "lines" else " ".join(pts)


def _highlight(points, n):
    out, done = list(points), 0
    for i, p in enumerate(out):
        if done == n:
            break
        bare = re.sub(r"\[[^\]]*\]", " ", p)
        words = [w for w in re.findall(r"\b[A-Za-z][a-z]{4,}\b", bare) if w.lower() not in STOPWORDS]
        if not words:
            continue
        w = max(words, key=len)
        out[i] = re.sub(rf"(?<!\[)\b{w}\b(?![^\[]*\])", f"*{w}*", p, count=1)
        done += 1
    return tuple(out), done


def remove_commas(text: str) -> str:
    text = re.sub(r",[ \t]*\n", "\n", text)  # "Dear [name]," / "Best regards,"
    text = re.sub(r",\s+(and|or)\s+", r" \1 ", text)  # "A, B, and C" -> "A, B and C"
    return re.sub(r",\s+", " and ", text)  # -> "A and B and C"


def fill_placeholders(text: str) -> str:
    def fill(m):
        key = m.group(1)
        value = PLACEHOLDER_FILL.get(key.lower(), key)
        return value[0].upper() + value[1:] if key[0].isupper() else value

    return re.sub(r"\[([^\]]+)\]", fill, text)


def render(item: Item, L: Layout) -> str:
    pts = L.points
    if L.highlights:
        pts, _ = _highlight(pts, L.highlights)
    if L.structure == "json":
        text = json.dumps(_json_object(item, pts), ensure_ascii=False, indent=2)
    else:
        if L.structure == "bullets":
            body = "\n".join(f"* {' '.join(g)}" for g in _groups(pts, L.groups))
            body = f"{L.intro}\n{body}" if L.intro else body
        elif L.structure == "paragraphs":
            body = "\n\n***\n\n".join(_join(item, g) for g in _groups(pts, L.groups))
        elif L.structure == "sections":
            body = "\n\n".join(
                f"{L.section_word} {i + 1}\n{_join(item, g)}" for i, g in enumerate(_groups(pts, L.groups))
            )
        else:
            body = _join(item, pts)
        if item.style == "letter":
            body = f"{item.greeting}\n\n{body}\n\nBest regards,\n[your name]"
        parts = []
        if L.title:
            parts.append(f"# {L.title}" if L.markdown_title else f"<<{L.title}>>")
        parts.append(body)
        if L.ps:
            parts.append(f"P.S. {L.ps}")
        text = "\n\n".join(parts)
        if L.end_phrase:
            multiline = "\n" in text
            text += ("\n\n" if multiline else " ") + L.end_phrase
            if L.after_end:
                text += " " + L.after_end
    if L.opener:
        text = f"{L.opener}\n\n{text}" if "\n" in text else f"{L.opener} {text}"
    if L.json_prefix:
        text = f"{L.json_prefix}\n{text}"
    if L.fill_placeholders:
        text = fill_placeholders(text)
    if L.no_comma:
        text = remove_commas(text)
    if L.case == "lower":
        text = text.lower()
    elif L.case == "upper":
        text = text.upper()
    if L.quote:
        text = f'"{text}"'
    return text


def _json_object(item, pts):
    if item.json_fields:
        return {**dict(item.json_fields), "explanation": " ".join(pts)}
    if item.style == "steps":
        return {"task": item.title, "steps": list(pts)}
    if item.style == "lines":
        return {"title": item.title, "lines": list(pts)}
    if item.style == "letter":
        return {
            "subject": item.title,
            "greeting": item.greeting.rstrip(","),
            "body": " ".join(pts),
            "closing": "Best regards",
            "signature": "[your name]",
        }
    return {"topic": item.title, "answer": " ".join(pts)}


# ======================================================================================
# Building one example: instructions -> chosen response -> kwargs -> prompt (-> rejected)
# ======================================================================================


@dataclasses.dataclass
class Example:
    item: Item
    prompt: str
    ids: list
    kwargs: list
    chosen: str
    layout: Layout
    rejected: str | None = None
    failure: str | None = None
    score_chosen: float | None = None
    score_rejected: float | None = None


def _content_words(text):
    seen = []
    for w in re.findall(r"\b[A-Za-z][a-z]{4,}\b", text):
        w = w.lower()
        if w not in STOPWORDS and w not in FILLERS and w not in seen:
            seen.append(w)
    return seen


def _freq_both(word, text):
    a = len(re.findall(word, text, flags=re.IGNORECASE))
    b = len(re.findall(rf"\b{word}\b", text, flags=re.IGNORECASE))
    return a if a == b else None


def sample_ids(item, rng):
    allowed = allowed_ids(item)
    k = rng.choices([1, 2, 3], weights=[35, 45, 20])[0]
    ids = []
    while len(ids) < k:
        options = [i for i in allowed if i not in ids and not (CONFLICTS[i] & set(ids))]
        if not options:
            break
        ids.append(rng.choice(options))
    return ids


def plan_chosen(item, ids, rng) -> Layout | None:
    pts = item.points
    structure, groups = "plain", 1
    for iid, name in ((BULLETS, "bullets"), (PARAS, "paragraphs"), (SECTIONS, "sections"), (JSONF, "json")):
        if iid in ids:
            structure = name
    if item.complete:
        chosen_pts = pts
    else:
        chosen_pts = pts[: rng.randint(min(3, len(pts)), len(pts))]
    if structure in ("bullets", "paragraphs", "sections"):
        hi = {"bullets": 5, "paragraphs": 3, "sections": 3}[structure]
        groups = rng.randint(2, max(2, min(hi, len(pts))))
        if len(chosen_pts) < groups:
            chosen_pts = pts[:groups]
        if len(chosen_pts) < groups:
            return None
    intro = ""
    if structure == "bullets":
        intro = rng.choice(BULLET_INTROS.get(item.category, BULLET_INTROS[""]))
    end_bank = CREATIVE_END_PHRASES if item.category in ("creative_writing", "imitation_writing") else END_PHRASES
    layout = Layout(
        points=tuple(chosen_pts),
        structure=structure,
        groups=groups,
        intro=intro,
        title=item.title if TITLE in ids else None,
        highlights=rng.randint(1, min(3, len(chosen_pts))) if HIGHLIGHT in ids else 0,
        ps=rng.choice(PS_NOTES[item.category]) if PS in ids else None,
        end_phrase=rng.choice(end_bank) if END in ids else None,
        no_comma=NOCOMMA in ids,
        case="lower" if LOWER in ids else "upper" if UPPER in ids else None,
        quote=QUOTE in ids,
    )
    if layout.highlights and _highlight(layout.points, layout.highlights)[1] < layout.highlights:
        return None
    return layout


def derive_kwargs(item, ids, L, text, rng):
    """kwargs for each instruction, fitted to the chosen response ``text``."""
    out = []
    content = _content_words(" ".join(L.points))
    used_words = set()
    for iid in ids:
        if iid in (LOWER, UPPER, JSONF, QUOTE, TITLE, NOCOMMA):
            kw = {}
        elif iid == WORDS:
            hi = max(_count_words(text, 0), _count_words(text, 1))
            lo = min(_count_words(text, 0), _count_words(text, 1))
            if lo >= 25 and rng.random() < 0.4:
                kw = {"relation": "at least", "num_words": (lo - 5) // 10 * 10}
            else:
                kw = {"relation": "less than", "num_words": ((hi + 5) // 10 + 1) * 10}
        elif iid == SENTS:
            s = _count_sentences(text, 0)
            if s != _count_sentences(text, 1):
                return None
            if s >= 3 and rng.random() < 0.5:
                kw = {"relation": "at least", "num_sentences": s - rng.choice([0, 1])}
            else:
                kw = {"relation": "less than", "num_sentences": s + rng.choice([1, 2])}
        elif iid == PARAS:
            kw = {"num_paragraphs": L.groups}
        elif iid == BULLETS:
            kw = {"num_bullets": L.groups}
        elif iid == SECTIONS:
            kw = {"section_spliter": "Section", "num_sections": L.groups}
        elif iid == HIGHLIGHT:
            kw = {"num_highlights": L.highlights}
        elif iid == PS:
            kw = {"postscript_marker": "P.S."}
        elif iid == END:
            kw = {"end_phrase": L.end_phrase}
        elif iid == PLACEHOLDERS:
            n = len(re.findall(r"\[.*?\]", text))
            if n == 0:
                return None
            kw = {"num_placeholders": rng.randint(max(1, n - 3), n)}
        elif iid == KW_EXIST:
            cands = [w for w in content if w not in used_words and re.search(rf"\b{w}\b", text, re.I)]
            if not cands:
                return None
            title_words = [w for w in cands if w in item.title.lower() or w in " ".join(item.tasks).lower()]
            k = min(len(cands), rng.choice([1, 2, 2, 3]))
            first = rng.choice(title_words) if title_words and rng.random() < 0.7 else rng.choice(cands)
            rest = [w for w in cands if first not in w and w not in first]  # not "number" and "numbers"
            kws = [first]
            for w in rng.sample(rest, len(rest)):
                if len(kws) < k and not any(w in v or v in w for v in kws):
                    kws.append(w)
            used_words.update(kws)
            kw = {"keywords": kws}
        elif iid == KW_FORBID:
            cands = [w for w in FILLERS if not re.search(w, text, re.I)]
            kws = rng.sample(cands, rng.choice([1, 1, 2]))
            used_words.update(kws)
            kw = {"forbidden_words": kws}
        elif iid == KW_FREQ:
            counts = [(w, _freq_both(w, text)) for w in content if w not in used_words]
            counts = [(w, c) for w, c in counts if c]
            if not counts:
                return None
            multi = [(w, c) for w, c in counts if c >= 2]
            if multi and rng.random() < 0.6:
                w, c = rng.choice(multi)
                kw = {"keyword": w, "frequency": rng.randint(2, c), "relation": "at least"}
            else:
                w, c = rng.choice(counts)
                kw = {"keyword": w, "frequency": c + rng.choice([1, 1, 2]), "relation": "less than"}
            used_words.add(w)
        else:
            raise KeyError(iid)
        out.append(kw)
    return out


def _quote_list(words):
    q = [f'"{w}"' for w in words]
    return q[0] if len(q) == 1 else " and ".join(q) if len(q) == 2 else ", ".join(q[:-1]) + ", and " + q[-1]


def render_prompt(item, ids, kwargs, rng):
    sentences = [rng.choice(item.tasks)]
    for iid, kw in zip(ids, kwargs):
        key = (iid, kw["relation"]) if iid in (WORDS, SENTS, KW_FREQ) else iid
        template = rng.choice(PHRASING[key])
        n = next(
            (
                kw[k]
                for k in (
                    "num_words",
                    "num_sentences",
                    "num_paragraphs",
                    "frequency",
                    "num_bullets",
                    "num_highlights",
                    "num_sections",
                    "num_placeholders",
                )
                if k in kw
            ),
            None,
        )
        words = kw.get("keywords") or kw.get("forbidden_words") or []
        sentences.append(
            template.format(
                n=n,
                w=kw.get("keyword"),
                p=kw.get("end_phrase"),
                list=_quote_list(words) if words else "",
                word="word" if (len(words) == 1 or n == 1) else "words",
                keyword="keyword" if len(words) == 1 else "keywords",
                term="term" if len(words) == 1 else "terms",
                them="it" if n == 1 else "them",
                placeholder="placeholder" if n == 1 else "placeholders",
                blank="blank" if n == 1 else "blanks",
            )
        )
    sep = rng.choice([" ", " ", "\n"])
    return sentences[0] + sep + " ".join(sentences[1:])


def build_example(item, rng, used_prompts) -> Example | None:
    for _attempt in range(40):
        ids = sample_ids(item, rng)
        L = plan_chosen(item, ids, rng)
        if L is None:
            continue
        text = render(item, L)
        kwargs = derive_kwargs(item, ids, L, text, rng)
        if kwargs is None or not passes_all(ids, kwargs, text):
            continue
        if (LOWER in ids or UPPER in ids) and not detected_as_english(text):
            continue
        prompt = render_prompt(item, ids, kwargs, rng)
        if prompt in used_prompts:
            continue
        return Example(item, prompt, ids, kwargs, text, L)
    return None


# --- rejected responses ------------------------------------------------------------------


def _break(item, ex: Example, iid, kw, rng) -> Layout | None:
    """The chosen layout with one instruction broken the way a weak model breaks it."""
    L = ex.layout
    rep = dataclasses.replace
    if iid in (LOWER, UPPER):
        return rep(L, case=None)
    if iid in (WORDS, SENTS):
        if kw["relation"] == "less than":
            extra = [p for p in item.points if p not in L.points] + rng.sample(RAMBLE, len(RAMBLE))
            return rep(L, points=L.points + tuple(extra))
        return rep(L, points=L.points[: max(1, L.groups)], ps=None, intro="")
    if iid == PARAS:
        return (
            rep(L, groups=L.groups + 1)
            if len(L.points) > L.groups and rng.random() < 0.5
            else rep(L, groups=L.groups - 1)
        )
    if iid == BULLETS:
        r = rng.random()
        if r < 0.4 and len(L.points) > L.groups:
            return rep(L, groups=L.groups + 1)
        if r < 0.8:
            return rep(L, groups=L.groups - 1)
        return rep(L, structure="plain", intro="")
    if iid == SECTIONS:
        return rep(L, groups=L.groups - 1) if rng.random() < 0.6 else rep(L, section_word="Part")
    if iid == JSONF:
        return (
            rep(L, json_prefix=rng.choice(["Here is the answer in JSON format:", "Sure! Here is the JSON:"]))
            if rng.random() < 0.7
            else rep(L, structure="plain")
        )
    if iid == QUOTE:
        return rep(L, quote=False)
    if iid == END:
        return (
            rep(L, end_phrase=None)
            if rng.random() < 0.5
            else rep(L, after_end=rng.choice(["Have a great day!", "Feel free to ask again.", "Take care."]))
        )
    if iid == PS:
        return rep(L, ps=None)
    if iid == HIGHLIGHT:
        return rep(L, highlights=0) if L.highlights == 1 or rng.random() < 0.5 else rep(L, highlights=L.highlights - 1)
    if iid == TITLE:
        return rep(L, title=None) if rng.random() < 0.5 else rep(L, markdown_title=True)
    if iid == NOCOMMA:
        return rep(L, no_comma=False, opener=rng.choice(["Sure, here is my answer.", "Of course, happy to help."]))
    if iid == PLACEHOLDERS:
        return rep(L, fill_placeholders=True)
    if iid == KW_FORBID:
        return rep(L, opener=FILLERS[kw["forbidden_words"][0]])
    if iid == KW_EXIST:
        word = kw["keywords"][-1]
        kept = tuple(p for p in L.points if not re.search(word, p, re.I))
        if not kept or len(kept) < L.groups:
            return None
        return rep(L, points=kept)
    if iid == KW_FREQ:
        word = kw["keyword"]
        if kw["relation"] == "at least":
            kept = tuple(p for p in L.points if not re.search(word, p, re.I))
            if not kept or len(kept) < L.groups:
                return None
            return rep(L, points=kept)
        extra = tuple(
            t.format(w=word)
            for t in ("That is why {w} matters so much.", "Again {w} is the main idea here.", "Remember {w} above all.")
        )
        return rep(L, points=L.points + extra)
    raise KeyError(iid)


def _off_topic_text(item, pool, rng):
    other = rng.choice([o for o in pool if o.uid != item.uid])
    return (
        _join(other, other.points[: rng.randint(2, len(other.points))])
        if other.style != "letter"
        else " ".join(other.points)
    )


def build_rejected(ex: Example, pool, rng):
    """Returns (text, failure kind) for a response that fails at least one instruction."""
    item = ex.item
    mode = rng.choices(["break", "rambling", "off_topic", "evasive"], weights=[62, 13, 10, 15])[0]
    if mode == "rambling":
        extra = rng.sample(RAMBLE, 3)
        text = _join(item, item.points[:2]) + " " + " ".join(extra) + " " + _join(item, item.points[2:])
        if item.style == "letter":
            text = " ".join(item.points[:2] + tuple(extra) + item.points[2:])
        if fails_some(ex.ids, ex.kwargs, text) and text != ex.chosen:
            return text, "rambling"
    elif mode == "off_topic":
        text = _off_topic_text(item, pool, rng)
        if fails_some(ex.ids, ex.kwargs, text):
            return text, "off_topic"
    elif mode == "evasive":
        text = rng.choice(EVASIVE)
        if fails_some(ex.ids, ex.kwargs, text):
            return text, "evasive"
    order = list(zip(ex.ids, ex.kwargs))
    rng.shuffle(order)
    for iid, kw in order:
        L = _break(item, ex, iid, kw, rng)
        if L is None:
            continue
        text = render(item, L)
        if text != ex.chosen and verdict(iid, kw, text) == "fail":
            return text, f"broke:{iid}"
    return None, None


def score_pair(ex: Example, rng):
    chosen = rng.choice([8.0, 8.5, 9.0, 9.5, 10.0])
    if ex.failure.startswith("broke:"):
        followed = sum(verdict(i, k, ex.rejected) == "pass" for i, k in zip(ex.ids, ex.kwargs)) / len(ex.ids)
        rejected = 4.0 + round(4 * followed) / 2 + rng.choice([0.0, 0.5])
    else:
        rejected = {"rambling": 3.5, "off_topic": 2.0, "evasive": 1.5}[ex.failure] + rng.choice([0.0, 0.5])
    return chosen, min(rejected, chosen - 1.0)


# ======================================================================================
# Splits and files
# ======================================================================================


def make_split(split, pools, used_prompts):
    examples = []
    for cat in CATEGORIES:
        rng = random.Random(f"{SEED}-{split}-{cat}")
        pool = pools[cat]["eval" if split == "eval" else "train"]
        order = list(pool)
        rng.shuffle(order)
        need, i, misses = PER_CATEGORY[split], 0, 0
        got = []
        while len(got) < need:
            item = order[i % len(order)]
            i += 1
            ex = build_example(item, rng, used_prompts)
            if ex is not None and split == "pairs":
                ex.rejected, ex.failure = build_rejected(ex, pool, rng)
                if ex.rejected is None:
                    ex = None
                else:
                    ex.score_chosen, ex.score_rejected = score_pair(ex, rng)
            if ex is None:
                misses += 1
                if misses > 20 * need:
                    raise RuntimeError(f"cannot build {need} {split} examples for {cat}")
                continue
            used_prompts.add(ex.prompt)
            got.append(ex)
        examples.extend(got)
    return examples


def normalise(text: str) -> str:
    """Lowercase, whitespace collapsed: the comparison the curriculum notebook de-duplicates with."""
    return " ".join(text.lower().split())


def make_pool(reserve, used_prompts):
    """``POOL_PER_CATEGORY`` prompts per category from the reserve items, none equal (after
    ``normalise``) to a prompt in ``used_prompts`` or to another pool prompt. Runs after the other
    splits with its own seeds, so adding it changes none of their bytes."""
    seen = {normalise(p) for p in used_prompts}
    examples = []
    for cat in CATEGORIES:
        rng = random.Random(f"{SEED}-pool-{cat}")
        order = list(reserve[cat])
        rng.shuffle(order)
        got, i, misses = [], 0, 0
        while len(got) < POOL_PER_CATEGORY:
            item = order[i % len(order)]
            i += 1
            ex = build_example(item, rng, used_prompts)
            if ex is None or normalise(ex.prompt) in seen:
                misses += 1
                if misses > 20 * POOL_PER_CATEGORY:
                    raise RuntimeError(f"cannot build {POOL_PER_CATEGORY} pool prompts for {cat}")
                continue
            seen.add(normalise(ex.prompt))
            used_prompts.add(ex.prompt)
            got.append(ex)
        examples.extend(got)
    return examples


def _msgs(prompt, response):
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]


def to_rows(split, examples):
    rows = []
    for k, ex in enumerate(examples):
        meta = {"category": ex.item.category, "instruction_id_list": ex.ids, "kwargs": ex.kwargs}
        if split == "sft":
            rows.append({"messages": _msgs(ex.prompt, ex.chosen), "source": "sfdpo-demo", **meta})
        elif split == "pairs":
            rows.append(
                {
                    "prompt": ex.prompt,
                    "prompt_id": hashlib.sha256(ex.prompt.encode()).hexdigest(),
                    "chosen": _msgs(ex.prompt, ex.chosen),
                    "rejected": _msgs(ex.prompt, ex.rejected),
                    "score_chosen": ex.score_chosen,
                    "score_rejected": ex.score_rejected,
                    **meta,
                }
            )
        elif split == "pool":
            rows.append({"key": POOL_FIRST_KEY + k, "prompt": ex.prompt, **meta})
        else:
            rows.append({"key": k + 1, "prompt": ex.prompt, **meta})
    return rows


def _write_jsonl(rows, path):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def self_check(splits, examples):
    """Raise if a split breaks the data's promises (the tests check the same with the judge)."""
    seen = {}
    for split, rows in splits.items():
        for row in rows:
            prompt = row["prompt"] if "prompt" in row else row["messages"][0]["content"]
            if prompt in seen:
                raise AssertionError(f"prompt in {seen[prompt]} and {split}: {prompt[:80]!r}")
            seen[prompt] = split
    # The pool is compared case- and whitespace-blind, as the curriculum notebook de-duplicates (the
    # older splits are only exact-distinct: a few prompts differ from another by a newline).
    others = {normalise(p) for p, split in seen.items() if split != "pool"}
    pool = [normalise(row["prompt"]) for row in splits["pool"]]
    assert len(set(pool)) == len(pool) and not set(pool) & others, "pool prompt repeats a prompt"
    pool_keys = [row["key"] for row in splits["pool"]]
    assert len(set(pool_keys)) == len(pool_keys) and not set(pool_keys) & {row["key"] for row in splits["eval"]}
    assert set(collections.Counter(row["category"] for row in splits["pool"]).values()) == {POOL_PER_CATEGORY}
    for ex in examples["sft"] + examples["pairs"] + examples["pool"]:
        assert passes_all(ex.ids, ex.kwargs, ex.chosen), ex.prompt
    for ex in examples["pairs"]:
        assert fails_some(ex.ids, ex.kwargs, ex.rejected), ex.prompt
        assert ex.score_chosen > ex.score_rejected
    for bank in (
        GENERAL_KNOWLEDGE,
        SCIENCE,
        STORIES,
        PROCEDURES,
        DISCUSSIONS,
        RESERVE_GENERAL_KNOWLEDGE,
        RESERVE_SCIENCE,
        RESERVE_STORIES,
        RESERVE_PROCEDURES,
        RESERVE_DISCUSSIONS,
    ):
        for title, _, pts in bank:
            for p in pts:
                if "," in p and not re.search(r", (and|or) ", p):
                    raise AssertionError(f"{title}: comma outside a list in {p!r}")


def ifeval_overlap(texts, ifeval_path=IFEVAL_DEV, n=8):
    """Demo texts that share an exact prompt or an ``n``-word shingle with IFEval's prompts."""
    if not Path(ifeval_path).exists():
        return None
    norm = lambda t: re.findall(r"[a-z0-9']+", t.lower())
    shingles, exact = set(), set()
    for line in Path(ifeval_path).read_text(encoding="utf-8").splitlines():
        words = norm(json.loads(line)["prompt"])
        exact.add(" ".join(words))
        shingles.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    bad = []
    for t in texts:
        words = norm(t)
        if " ".join(words) in exact or any(tuple(words[i : i + n]) in shingles for i in range(len(words) - n + 1)):
            bad.append(t)
    return bad


FILES = {"sft": "sft.jsonl", "pairs": "pairs.jsonl", "eval": "eval_prompts.jsonl", "pool": "prompt_pool.jsonl"}


def main(out_dir: Path | str = OUT_DIR) -> dict:
    """Write sft.jsonl, pairs.jsonl, eval_prompts.jsonl, prompt_pool.jsonl and DATA_CARD.md into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pools = build_pools()
    used: set = set()
    examples = {}
    for split in ("eval", "pairs", "sft"):  # eval first: held-out prompts claim their text first
        examples[split] = make_split(split, pools, used)
    examples["pool"] = make_pool(build_reserve_pools(pools), used)  # last, own seeds: the others stay as they were
    splits = {s: to_rows(s, examples[s]) for s in ("sft", "pairs", "eval", "pool")}
    self_check(splits, examples)
    files = FILES
    for split, name in files.items():
        _write_jsonl(splits[split], out_dir / name)
    (out_dir / "DATA_CARD.md").write_text(data_card(splits, examples, out_dir), encoding="utf-8", newline="\n")
    return {split: len(rows) for split, rows in splits.items()}


# ======================================================================================
# Data card
# ======================================================================================


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def data_card(splits, examples, out_dir) -> str:
    cats = {s: collections.Counter(r["category"] for r in rows) for s, rows in splits.items()}
    ids = {s: collections.Counter(i for r in rows for i in r["instruction_id_list"]) for s, rows in splits.items()}
    n_ins = {s: collections.Counter(len(r["instruction_id_list"]) for r in rows) for s, rows in splits.items()}
    failures = collections.Counter(
        ex.failure if not ex.failure.startswith("broke:") else "one instruction broken" for ex in examples["pairs"]
    )
    broke = collections.Counter(ex.failure[6:] for ex in examples["pairs"] if ex.failure.startswith("broke:"))
    words = [len(ex.chosen.split()) for ex in examples["sft"] + examples["pairs"]]
    in_range = sum(30 <= w <= 120 for w in words) / len(words)
    all_ids = sorted(set().union(*ids.values()))
    pool_topics = sum(
        len(b)
        for b in (
            RESERVE_GENERAL_KNOWLEDGE,
            RESERVE_SCIENCE,
            RESERVE_POEMS,
            RESERVE_STORIES,
            RESERVE_PROFESSIONAL,
            RESERVE_PROCEDURES,
            RESERVE_DISCUSSIONS,
            RESERVE_IMITATIONS,
            RESERVE_CLASSIFICATIONS,
        )
    )
    pool_phrases = len(RESERVE_PHRASES)
    return f"""# Demo data card

The offline data world of the course kit: instruction prompts from the study's ten categories,
each with one to three verifiable instructions, as SFT conversations, preference pairs,
held-out evaluation prompts and a reserve pool of new prompts. Notebooks read these files when
they run without the hub (`source="demo"` in `sfdpo_helpers.data`); the column formats are the
hub datasets' own, so online and offline runs share one code path.

## Provenance
Generated by `scripts/make_demo_data.py` (seed {SEED}); rerunning it rewrites these files
byte for byte. Every prompt and response is assembled from hand-written templates and small
fact banks in that script (a few short sentences, steps or verse lines per topic), with math
answers, prime/composite and leap-year labels computed by the script. No text was produced by
a language model, and no dataset text was copied: the instruction *schema* follows IFEval
(Zhou et al. 2023: instruction ids and kwarg names), but no IFEval prompt or phrasing is used.
The generator and the tests check that no prompt matches an IFEval prompt exactly or shares an
8-word run with one (against the IFEval dev half in `../shared`, when present).

## Licence
Apache-2.0, the same as the project.

## Files
| file | rows | format |
|---|---|---|
| `sft.jsonl` | {len(splits["sft"])} | like HuggingFaceTB/smoltalk |
| `pairs.jsonl` | {len(splits["pairs"])} | like HuggingFaceH4/ultrafeedback_binarized |
| `eval_prompts.jsonl` | {len(splits["eval"])} | like IFEval's input data |
| `prompt_pool.jsonl` | {len(splits["pool"])} | like IFEval's input data (no responses) |

Columns (all files also carry `category` (str), `instruction_id_list` (list of str) and
`kwargs` (list of dict, one per instruction, IFEval's kwarg names)):
- `sft.jsonl`: `messages` = `[{{"role": "user", "content": prompt}}, {{"role": "assistant", "content": response}}]`, `source` = `"sfdpo-demo"`.
- `pairs.jsonl`: `prompt` (str), `prompt_id` (sha256 hex of the prompt), `chosen` and `rejected`
  (user + assistant messages), `score_chosen` and `score_rejected` (floats on UltraFeedback's
  1-10 scale; chosen 8-10, rejected lower; see below).
- `eval_prompts.jsonl`: `key` (int), `prompt` (str).
- `prompt_pool.jsonl`: `key` (int, from {POOL_FIRST_KEY}; no eval key), `prompt` (str).

The four files share no prompt text and no file repeats a prompt. Evaluation prompts are built
from held-out topics (one in five of each category's hand-written topics and generated problems)
that never appear in `sft.jsonl` or `pairs.jsonl`.

## Reserve prompt pool
`prompt_pool.jsonl` holds new prompts for the curriculum notebook (06): it finds the categories
where the DPO model loses most and asks for fresh prompts of those categories, which offline come
from this pool ({POOL_PER_CATEGORY} per category, {len(splits["pool"])} in all). Its topics are held out
from *every* other split, evaluation included, because notebook 07 trains on them:
{pool_topics} reserve topics written for the pool only (`RESERVE_*` banks in the script) and
{pool_phrases} new phrases for multilingual, plus newly generated math problems and prime/leap-year
questions whose numbers and wording match no item behind sft, pairs or eval. No pool prompt
equals a prompt of another split even ignoring case and whitespace, and no pool prompt repeats.
Only prompts and instructions are shipped (the generator still builds a reference answer for
each, to fit the instruction kwargs to a response that can follow them). The pool is generated
after the other splits with its own seeds, so it changes none of their bytes.

## What the responses are
Chosen and SFT responses are short, correct answers transformed to satisfy every instruction
(lowercase, word and sentence limits, `***` paragraphs, keywords, `* ` bullets, JSON, quotes,
end phrases, P.S., `*highlights*`, `Section N` headers, `<<titles>>`, no commas, `[placeholders]`).
{in_range:.0%} of them have 30 to 120 words (median {statistics.median(words):.0f}).
Rejected responses fail at least one of their prompt's instructions, the way weak models do:

{_table(["rejected kind", "pairs"], sorted(failures.items()))}

Broken instructions (one per rejected response of that kind):

{_table(["instruction id", "pairs"], sorted(broke.items()))}

`score_chosen` is drawn from 8.0 to 10.0; `score_rejected` is 4.0 to 6.0 for a broken
instruction (higher when more of the other instructions are followed), about 3.5 for rambling,
2.0 for off-topic and 1.5 for evasive replies (plus 0 or 0.5).

## Counts per category
{_table(["category", "sft", "pairs", "eval", "pool"], [(c, cats["sft"][c], cats["pairs"][c], cats["eval"][c], cats["pool"][c]) for c in CATEGORIES])}

## Counts per instruction id
{_table(["instruction id", "sft", "pairs", "eval", "pool"], [(i, ids["sft"][i], ids["pairs"][i], ids["eval"][i], ids["pool"][i]) for i in all_ids])}

Instructions per prompt (1/2/3): sft {n_ins["sft"][1]}/{n_ins["sft"][2]}/{n_ins["sft"][3]},
pairs {n_ins["pairs"][1]}/{n_ins["pairs"][2]}/{n_ins["pairs"][3]}, eval {n_ins["eval"][1]}/{n_ins["eval"][2]}/{n_ins["eval"][3]},
pool {n_ins["pool"][1]}/{n_ins["pool"][2]}/{n_ins["pool"][3]}.

## Checks
Every chosen/SFT response follows all its instructions and every rejected response fails at
least one, under IFEval's rules as implemented in the generator (each rule read two ways, e.g.
word counts by `\\w+` tokens and by whitespace, so a faithful judge cannot disagree), and again
in `tests/test_demo_data.py` with `sfdpo_helpers.judges.check_instruction` (IFEval's reference
checkers with Punkt sentence splitting).

## Known limitations
- Small and repetitive by design: a few hundred hand-written sentences, each topic reused under
  several instruction sets, so a model can memorise topics; it is for demonstrating the
  pipeline on a 2-core CPU, not for measuring real instruction following.
- English prompts only; the multilingual category asks about Spanish, French and German
  phrases but answers in English, and never combines with case instructions (IFEval's case
  checks require English text).
- Only {len(all_ids)} of IFEval's 25 instruction types; `placeholders` appears only in
  professional writing; some combinations are never generated (see `_CONFLICTS` in the script).
- Preference signal is mostly verifiable-format errors; off-topic, rambling and evasive
  rejections are the only content failures, and scores are synthetic, not ratings.
- Answers are deliberately short (a few sentences); facts are simplified for brevity.
- sft, pairs and eval are distinct as exact strings only: a few prompts differ from another only
  by a newline instead of a space before the instructions. The pool is distinct from all of
  them and from itself ignoring case and whitespace.
- The pool has only {pool_topics} hand-written reserve topics and {pool_phrases} phrases, so each
  recurs under several instruction sets and task phrasings, as in eval.
"""


def cross_check_with_judge(out_dir: Path) -> str:
    """Check the written files with ``sfdpo_helpers.judges`` (the tests do the same)."""
    sys.path.insert(0, str(REPO))
    from sfdpo_helpers.judges import check_instruction

    bad = 0
    read = lambda name: [json.loads(l) for l in (out_dir / name).read_text(encoding="utf-8").splitlines()]
    for row in read("sft.jsonl"):
        p, r = row["messages"][0]["content"], row["messages"][1]["content"]
        bad += not all(check_instruction(i, k, p, r) for i, k in zip(row["instruction_id_list"], row["kwargs"]))
    for row in read("pairs.jsonl"):
        ok = lambda resp: [
            check_instruction(i, k, row["prompt"], resp) for i, k in zip(row["instruction_id_list"], row["kwargs"])
        ]
        bad += not all(ok(row["chosen"][1]["content"])) + all(ok(row["rejected"][1]["content"]))
    from sfdpo_helpers.judges import VerifiableJudge

    VerifiableJudge(read("prompt_pool.jsonl"))  # raises on an unknown id or kwarg
    return f"judge cross-check: {bad} disagreements; prompt pool builds in the judge"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(OUT_DIR), help="output folder (default: the package's demo_data)")
    parser.add_argument("--no-judge", action="store_true", help="skip the cross-check with sfdpo_helpers.judges")
    args = parser.parse_args()
    counts = main(args.out)
    print("wrote", counts, "to", args.out)
    texts = []
    for name in FILES.values():
        for line in (Path(args.out) / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts.append(row["prompt"] if "prompt" in row else row["messages"][0]["content"])
    overlap = ifeval_overlap(texts)
    print("IFEval overlap:", "IFEval file absent" if overlap is None else f"{len(overlap)} prompts")
    if not args.no_judge:
        try:
            print(cross_check_with_judge(Path(args.out)))
        except ImportError as err:
            print(f"judge cross-check skipped: {err}")
