"""Messages no tool should answer: greetings, who-are-you, thanks and goodbyes, how-are-you,
general knowledge, definitions, advice, creative requests, and their short plain answers.

``draw(rng, held_out)`` returns ``(kind, question, answer)``. Each kind draws from templates
and tables (capitals, facts, jokes, poems, names), so questions vary widely; about a quarter
of each list is held out for the test split.
"""

from __future__ import annotations

from random import Random

from .phrasings import split_phrases

GREETINGS = [
    "hi",
    "Hi!",
    "hello",
    "Hello there!",
    "hey",
    "hey there",
    "good morning!",
    "Good evening.",
    "yo",
    "hiya",
    "Morning!",
    "Hi, anyone there?",
    "Hello :)",
    "hey hey",
    "Greetings!",
    "good afternoon",
    "Howdy!",
    "Hi again",
]
GREETING_ANSWERS = [
    "Hello! How can I help you today?",
    "Hi! What can I do for you?",
    "Hey! What do you need help with?",
    "Hello! Ask me anything, or tell me what to do.",
    "Hi there! How can I help?",
    "Good to see you! What can I help with?",
]
WHO = [
    "Who are you?",
    "Hi! Who are you?",
    "What are you?",
    "What can you do?",
    "Are you a robot?",
    "What's your name?",
    "hey, what can you help me with?",
    "Are you human?",
    "What is this app?",
    "Tell me about yourself.",
    "Hello! What are you able to do?",
    "who am I talking to?",
]
WHO_ANSWERS = [
    "I'm an assistant that runs on this device. I can answer questions and use the tools available here, such as {abilities}.",
    "I'm a small on-device assistant. I can chat and use tools here, like {abilities}.",
    "I'm your assistant! I can help with {abilities}, or just answer a question.",
    "I'm an AI assistant. Among other things, I can help with {abilities}.",
]
THANKS = [
    "thanks",
    "Thanks!",
    "thank you",
    "Thank you so much!",
    "thx",
    "great, thanks",
    "perfect, thank you",
    "Cheers!",
    "awesome, thanks a lot",
    "ok thanks",
    "that's all, thanks",
    "Thanks, that helps.",
    "bye",
    "Goodbye!",
    "see you later",
    "ok cool",
    "Nice!",
    "got it",
    "good night",
    "ty",
]
THANKS_ANSWERS = [
    "You're welcome!",
    "Happy to help!",
    "Anytime! Let me know if you need anything else.",
    "Glad I could help.",
    "You're welcome. Have a great day!",
    "No problem!",
    "My pleasure!",
    "Take care!",
]
HOW_ARE_YOU = [
    ("How are you?", "I'm doing well, thanks for asking! How can I help?"),
    ("how's it going?", "All good here! What can I do for you?"),
    ("Are you having a good day?", "I am, thanks! How about you? Anything I can help with?"),
    ("Do you ever sleep?", "Not really. I'm here whenever you need me."),
    ("Are you busy?", "Not at all. What do you need?"),
    (
        "I'm bored.",
        "How about a short walk, a new podcast, or a puzzle? I can also tell you a joke.",
    ),
    (
        "I'm feeling a bit tired today.",
        "Sorry to hear that. A glass of water and a short break can help.",
    ),
    ("You're great!", "Thank you, that's kind of you!"),
]
CAPITALS = {
    "France": "Paris",
    "Japan": "Tokyo",
    "Australia": "Canberra",
    "Canada": "Ottawa",
    "Brazil": "Brasília",
    "Kenya": "Nairobi",
    "Egypt": "Cairo",
    "Germany": "Berlin",
    "Italy": "Rome",
    "Spain": "Madrid",
    "Portugal": "Lisbon",
    "Norway": "Oslo",
    "Sweden": "Stockholm",
    "Poland": "Warsaw",
    "Turkey": "Ankara",
    "India": "New Delhi",
    "China": "Beijing",
    "South Korea": "Seoul",
    "Mexico": "Mexico City",
    "Argentina": "Buenos Aires",
    "Peru": "Lima",
    "Nigeria": "Abuja",
    "Morocco": "Rabat",
    "Vietnam": "Hanoi",
    "Thailand": "Bangkok",
    "Switzerland": "Bern",
    "New Zealand": "Wellington",
    "Ireland": "Dublin",
    "Greece": "Athens",
    "Chile": "Santiago",
}
CAPITAL_QS = [
    "What's the capital of {c}?",
    "capital of {c}?",
    "Which city is the capital of {c}?",
    "What is {c}'s capital city?",
    "Do you know the capital of {c}?",
]
FACTS = [
    ("How many days are in a week?", "There are seven days in a week."),
    ("How many minutes are in an hour?", "An hour has 60 minutes."),
    ("How many continents are there?", "There are seven continents."),
    ("Who wrote Romeo and Juliet?", "William Shakespeare wrote Romeo and Juliet."),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci painted the Mona Lisa."),
    (
        "What's the largest planet in our solar system?",
        "Jupiter is the largest planet in the solar system.",
    ),
    (
        "What is the chemical symbol for water?",
        "Water is H2O: two hydrogen atoms and one oxygen atom.",
    ),
    ("What's the chemical symbol for iron?", "The chemical symbol for iron is Fe."),
    (
        "What is the speed of light?",
        "Light travels at about 299,792 kilometers per second in a vacuum.",
    ),
    (
        "Why is the sky blue?",
        "Air scatters blue sunlight more than red light, so the sky looks blue.",
    ),
    (
        "What's the tallest mountain in the world?",
        "Mount Everest, at 8,849 meters above sea level.",
    ),
    (
        "What is photosynthesis?",
        "It's how plants turn sunlight, water and carbon dioxide into sugar and oxygen.",
    ),
    ("How many legs does a spider have?", "A spider has eight legs."),
    (
        "What's the longest river in the world?",
        "The Nile and the Amazon are both about 6,500 km long; the Nile is usually listed first.",
    ),
    ("Who discovered penicillin?", "Alexander Fleming discovered penicillin in 1928."),
    ("What does DNA stand for?", "DNA stands for deoxyribonucleic acid."),
    ("What does HTML stand for?", "HTML stands for HyperText Markup Language."),
    ("What language do they speak in Brazil?", "Portuguese is the official language of Brazil."),
    ("How many players are on a soccer team?", "Eleven players per side are on the field."),
    ("What is the freezing point of water?", "Water freezes at 0 °C (32 °F) at sea level."),
    ("When did World War II end?", "World War II ended in 1945."),
    ("What's the smallest prime number?", "The smallest prime number is 2."),
    ("Which ocean is the largest?", "The Pacific Ocean is the largest."),
    (
        "What is a black hole?",
        "A region of space where gravity is so strong that not even light escapes.",
    ),
    ("Who was the first person on the moon?", "Neil Armstrong, in July 1969."),
    (
        "What's the difference between weather and climate?",
        "Weather is the day-to-day state of the air; climate is its average over decades.",
    ),
    ("How many bones are in the human body?", "An adult human has 206 bones."),
    ("What is the main gas in Earth's air?", "Nitrogen, about 78% of the atmosphere."),
    (
        "Is a tomato a fruit?",
        "Botanically yes, a tomato is a fruit, though it's cooked like a vegetable.",
    ),
    (
        "What's a leap year?",
        "A year with 366 days: February gets a 29th day, about every four years.",
    ),
]
DEFINE = {
    "serendipity": "finding something good by chance",
    "ephemeral": "lasting a very short time",
    "ubiquitous": "present everywhere",
    "pragmatic": "dealing with things in a practical way",
    "nostalgia": "a fond longing for the past",
    "resilient": "able to recover quickly from difficulty",
    "meticulous": "very careful about details",
    "procrastinate": "to put off doing something",
    "candid": "honest and direct",
    "benevolent": "kind and well-meaning",
    "an algorithm": "a step-by-step procedure for solving a problem",
    "inflation": "a general rise in prices over time",
}
DEFINE_QS = [
    "What does {w} mean?",
    "define {w}",
    "What's the meaning of {w}?",
    "Can you explain the word {w}?",
]
DEFINE_AS = ["{W} means {d}.", "It means {d}.", "{W}: {d}."]
ADVICE = [
    (
        "Any tips for sleeping better?",
        "Keep a regular bedtime, avoid screens for an hour before bed, and keep the room cool and dark.",
    ),
    (
        "How can I focus better when studying?",
        "Work in 25-minute blocks with short breaks, and keep your phone in another room.",
    ),
    (
        "What should I cook tonight?",
        "How about a quick stir-fry: vegetables, a protein, soy sauce and rice, ready in 20 minutes.",
    ),
    (
        "How do I stay motivated to exercise?",
        "Pick something you enjoy, set a small regular goal, and go with a friend.",
    ),
    (
        "Should I learn Python or JavaScript first?",
        "Python is usually easier to start with; JavaScript if you mainly want to build websites.",
    ),
    (
        "How do I make my coffee less bitter?",
        "Use slightly cooler water, a coarser grind, or a shorter brew time.",
    ),
    (
        "Give me a tip for public speaking.",
        "Practice out loud a few times and slow down: pauses feel longer to you than to the audience.",
    ),
    (
        "How often should I water a cactus?",
        "About every two to three weeks in summer, and much less in winter.",
    ),
    (
        "What's a good way to save money?",
        "Set up an automatic transfer to savings on payday, before you can spend it.",
    ),
    (
        "How can I remember names better?",
        "Repeat the name back when you meet someone and link it to something you notice about them.",
    ),
]
TOPICS = [
    "autumn",
    "the sea",
    "coffee",
    "rain",
    "the city at night",
    "mountains",
    "spring",
    "the moon",
    "a cat",
    "winter mornings",
]
HAIKUS = {
    "autumn": "Red leaves drift and fall,\nthe old maple lets them go,\ncool wind hums along.",
    "the sea": "Waves fold into foam,\nsalt wind carries gull voices,\nthe tide keeps its time.",
    "coffee": "Dark cup, rising steam,\nthe first sip wakes the morning,\nwarm hands, quiet thoughts.",
    "rain": "Soft rain on the roof,\npuddles gather the gray sky,\nstreets shine like mirrors.",
    "the city at night": "Neon hums and glows,\ntaxis stitch the wet streets bright,\nwindows hold their stars.",
    "mountains": "Stone peaks in the clouds,\nsnow keeps the silence of years,\nthe trail climbs, then rests.",
    "spring": "Buds break on bare twigs,\nthe garden remembers green,\nbirds rehearse their songs.",
    "the moon": "Pale moon on the lake,\na silver road to nowhere,\nthe frogs sing for it.",
    "a cat": "Sunbeam on the rug,\nthe cat stretches, yawns, and sleeps,\nruler of the room.",
    "winter mornings": "Frost on the window,\nbreath clouds above the teacup,\nthe day starts slowly.",
}
POEM_QS = [
    "Write a haiku about {t}.",
    "Can you write me a short poem about {t}?",
    "haiku about {t} please",
    "Give me a little poem on {t}.",
    "Compose a haiku about {t}.",
]
JOKES = [
    "Why don't scientists trust atoms? Because they make up everything.",
    "I told my computer I needed a break, and it said: no problem, I'll go to sleep.",
    "Why did the scarecrow win an award? He was outstanding in his field.",
    "What do you call a fake noodle? An impasta.",
    "Why can't a bicycle stand up by itself? It's two tired.",
    "Parallel lines have so much in common. It's a shame they'll never meet.",
    "Why did the math book look sad? It had too many problems.",
]
JOKE_QS = [
    "Tell me a joke.",
    "know any good jokes?",
    "Make me laugh.",
    "tell me something funny",
    "Got a joke for me?",
    "I need a joke for my presentation.",
]
NAMES = {
    "dog": ["Biscuit", "Luna", "Scout", "Maple", "Rocket"],
    "cat": ["Miso", "Pepper", "Juniper", "Olive", "Ziggy"],
    "startup": ["Brightpath", "Nimbly", "Tidewell", "Sparkform", "Kinetiq"],
    "band": ["The Paper Lanterns", "Static Bloom", "Velvet Hours", "North Echo"],
    "boat": ["Sea Whisper", "Wandering Star", "Blue Heron", "Second Wind"],
    "plant": ["Sprout", "Fernando", "Leafy", "Basil", "Kevin"],
}
NAME_QS = [
    "Suggest a name for my new {x}.",
    "What should I name my {x}?",
    "Give me some name ideas for a {x}.",
    "I need a name for my {x}, any ideas?",
]
NAME_AS = ["How about {names}?", "A few ideas: {names}.", "Some options: {names}."]
CREATIVE = [
    ("Write a one-line slogan for a bakery.", "Fresh from our oven to your morning."),
    ("Give me a fun fact.", "Octopuses have three hearts and blue blood."),
    (
        "Write a short birthday message for my sister.",
        "Happy birthday, sis! Wishing you a year full of laughter, adventure and cake.",
    ),
    (
        "Can you write a tweet announcing our new app?",
        "It's here! Our new app is live: faster, simpler, and ready when you are. Download it today!",
    ),
    (
        "Give me an idea for a weekend project.",
        "Build a small herb garden on your windowsill: basil, mint and parsley grow easily.",
    ),
    (
        "Write a two-sentence scary story.",
        "I heard my mom calling me from the kitchen. As I headed down, she pulled me into the closet and whispered: I heard it too.",
    ),
    ("Tell me a riddle.", "What has keys but can't open locks? A piano."),
    ("Say something nice.", "You're doing better than you think. Keep going!"),
    (
        "Write a thank-you note to my teacher.",
        "Thank you for your patience and encouragement this year. You made learning a joy.",
    ),
    ("Give me a random word.", "Lighthouse."),
    (
        "Write a limerick about a cat.",
        "A cat with a taste for the cream\nwould plot and would purr and would scheme;\nshe'd sit by the jug,\nlook innocent, smug,\nthen vanish as quick as a dream.",
    ),
    (
        "Come up with a catchy title for a blog about hiking.",
        "Trail Mix: Stories from the Long Way Round.",
    ),
]
TRANSLATE = {
    ("thank you", "French"): "merci",
    ("good morning", "Spanish"): "buenos días",
    ("cheers", "German"): "prost",
    ("hello", "Italian"): "ciao",
    ("goodbye", "Japanese"): "sayonara (さようなら)",
    ("please", "Spanish"): "por favor",
    ("good night", "French"): "bonne nuit",
    ("thank you", "German"): "danke",
}
TRANSLATE_QS = ["How do you say '{p}' in {l}?", "What's '{p}' in {l}?", "Translate '{p}' into {l}."]
KINDS = (
    "greeting",
    "who",
    "thanks",
    "how_are_you",
    "capital",
    "fact",
    "define",
    "advice",
    "poem",
    "joke",
    "name",
    "creative",
    "translate",
)


def draw(
    rng: Random, held_out: bool = False, abilities: str = "", kind: str | None = None
) -> tuple[str, str, str]:
    """``(kind, question, answer)``; ``abilities`` (a few things the offered tools do) fills
    who-are-you answers."""
    part = lambda xs: split_phrases(xs, held_out, key=str)  # noqa: E731
    kind = kind or rng.choice(KINDS)
    if kind == "greeting":
        return kind, rng.choice(part(GREETINGS)), rng.choice(GREETING_ANSWERS)
    if kind == "who":
        text = rng.choice(WHO_ANSWERS).format(abilities=abilities or "questions and everyday tasks")
        return kind, rng.choice(part(WHO)), text
    if kind == "thanks":
        return kind, rng.choice(part(THANKS)), rng.choice(THANKS_ANSWERS)
    if kind == "how_are_you":
        q, a = rng.choice(part(HOW_ARE_YOU))
        return kind, q, a
    if kind == "capital":
        c = rng.choice(sorted(CAPITALS))
        a = rng.choice(
            [f"The capital of {c} is {CAPITALS[c]}.", f"{CAPITALS[c]}.", f"It's {CAPITALS[c]}."]
        )
        return kind, rng.choice(part(CAPITAL_QS)).format(c=c), a
    if kind == "fact":
        q, a = rng.choice(part(FACTS))
        return kind, q, a
    if kind == "define":
        w = rng.choice(sorted(DEFINE))
        a = rng.choice(DEFINE_AS).format(W=w[0].upper() + w[1:], d=DEFINE[w])
        return kind, rng.choice(part(DEFINE_QS)).format(w=w), a
    if kind == "advice":
        q, a = rng.choice(part(ADVICE))
        return kind, q, a
    if kind == "poem":
        t = rng.choice(TOPICS)
        return kind, rng.choice(part(POEM_QS)).format(t=t), HAIKUS[t]
    if kind == "joke":
        return kind, rng.choice(part(JOKE_QS)), rng.choice(JOKES)
    if kind == "name":
        x = rng.choice(sorted(NAMES))
        names = rng.sample(NAMES[x], 3)
        a = rng.choice(NAME_AS).format(names=f"{names[0]}, {names[1]} or {names[2]}")
        return kind, rng.choice(part(NAME_QS)).format(x=x), a
    if kind == "creative":
        q, a = rng.choice(part(CREATIVE))
        return kind, q, a
    (p, lang), word = rng.choice(sorted(TRANSLATE.items()))
    a = rng.choice([f"In {lang}, '{p}' is '{word}'.", f"'{word}'.", f"You'd say '{word}'."])
    return "translate", rng.choice(part(TRANSLATE_QS)).format(p=p, l=lang), a
