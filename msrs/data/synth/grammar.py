"""Sentence grammars for the synthetic corpus (no external text files).

Two grammars of increasing difficulty:

- :class:`GridGrammar`: GRID-like six-slot commands (``command colour
  preposition letter digit adverb``, e.g. ``PLACE BLUE AT F TWO NOW``); 51
  words, fixed structure.  The default of the mini corpus because a small model
  learns it in minutes.
- :class:`TemplateGrammar`: about twenty sentence templates over a vocabulary
  of a few hundred English words (nouns, verbs in several forms, adjectives,
  names, numbers, places, times), closer to read speech.

Both are deterministic functions of the ``numpy.random.Generator`` they are
given.  Words are upper case ``[A-Z']``, as in LRS3 transcripts.
"""

from abc import ABC, abstractmethod
from typing import Dict, List, Type

import numpy as np


class AbsGrammar(ABC):
    """A sentence generator."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> List[str]:
        """Return one sentence as a list of upper-case words."""

    @abstractmethod
    def vocabulary(self) -> List[str]:
        """All words the grammar can produce, sorted."""


class GridGrammar(AbsGrammar):
    """GRID-corpus-like commands: ``command colour prep letter digit adverb``."""

    COMMAND = ["BIN", "LAY", "PLACE", "SET"]
    COLOUR = ["BLUE", "GREEN", "RED", "WHITE"]
    PREP = ["AT", "BY", "IN", "WITH"]
    LETTER = [c for c in "ABCDEFGHIJKLMNOPQRSTUVXYZ"]  # no W, as in GRID
    DIGIT = [
        "ZERO",
        "ONE",
        "TWO",
        "THREE",
        "FOUR",
        "FIVE",
        "SIX",
        "SEVEN",
        "EIGHT",
        "NINE",
    ]
    ADVERB = ["AGAIN", "NOW", "PLEASE", "SOON"]

    def _slots(self) -> List[List[str]]:
        return [
            self.COMMAND,
            self.COLOUR,
            self.PREP,
            self.LETTER,
            self.DIGIT,
            self.ADVERB,
        ]

    def sample(self, rng: np.random.Generator) -> List[str]:
        return [slot[int(rng.integers(len(slot)))] for slot in self._slots()]

    def vocabulary(self) -> List[str]:
        return sorted({w for slot in self._slots() for w in slot})


_LEX: Dict[str, List[str]] = {
    "NAME": (
        "ANNA BEN CLARA DAVID EMMA FRANK GRACE HENRY JULIA KEVIN LAURA MARTIN NORA "
        "OSCAR PAUL RACHEL SAM TOM"
    ).split(),
    "NOUN": (
        "ANIMAL APPLE BABY BAG BALL BANK BED BELL BIRD BOAT BOOK BOTTLE BOX BREAD "
        "BRIDGE BROTHER BUS CAKE CAMERA CAR CAT CHAIR CHILD CITY CLOCK COAT COFFEE "
        "COMPUTER COUNTRY DOCTOR DOG DOOR DREAM EGG ENGINE FAMILY FARMER FATHER FIELD "
        "FISH FLOWER FOREST FRIEND GARDEN GIRL GLASS HAT HILL HORSE HOUSE IDEA ISLAND "
        "JACKET KING KITCHEN LAKE LAMP LETTER MACHINE MAP MARKET MESSAGE MONEY MOTHER "
        "MOUNTAIN MUSIC NEIGHBOUR NEWSPAPER OFFICE ORANGE PAINTING PAPER PARTY PENCIL "
        "PHONE PICTURE PLANE PLANT POCKET POLICE QUESTION RADIO RIVER ROAD ROBOT ROOM "
        "SCHOOL SCIENTIST SHIP SHOE SISTER SONG STATION STONE STORY STREET STUDENT "
        "SUMMER TABLE TEACHER TICKET TOWER TRAIN TREE VILLAGE WALL WATCH WATER WINDOW "
        "WINTER WOMAN"
    ).split(),
    "ADJ": (
        "BEAUTIFUL BIG BLACK BRIGHT BROKEN BROWN CHEAP CLEAN COLD DARK DEEP DIFFERENT "
        "EMPTY EXPENSIVE FAMOUS FAST FRESH FRIENDLY FULL FUNNY GOLDEN GOOD GREEN "
        "HAPPY HEAVY HOT HUGE LARGE LITTLE LONG LOUD NEW NOISY OLD ORANGE PERFECT "
        "POOR PURPLE QUIET RED RICH SHORT SILVER SIMPLE SLOW SMALL SOFT STRANGE "
        "STRONG TALL TINY WARM WHITE WILD WOODEN YELLOW YOUNG"
    ).split(),
    "VERB": (
        "BRING BUILD BUY CARRY CATCH CHANGE CLEAN CLOSE COOK DRAW DRIVE FIND FIX "
        "FOLLOW HELP HIDE HOLD KEEP LEAVE LIFT MOVE OPEN PAINT PUSH READ SELL SEND "
        "SHOW TAKE TEACH THROW VISIT WASH WATCH"
    ).split(),
    "VERB_PAST": (
        "BROUGHT BUILT BOUGHT CARRIED CAUGHT CHANGED CLEANED CLOSED COOKED DREW DROVE "
        "FOUND FIXED FOLLOWED HELPED HID HELD KEPT LEFT LIFTED MOVED OPENED PAINTED "
        "PUSHED READ SOLD SENT SHOWED TOOK TAUGHT THREW VISITED WASHED WATCHED"
    ).split(),
    "VERB_ING": (
        "BRINGING BUILDING BUYING CARRYING CATCHING CHANGING CLEANING CLOSING COOKING "
        "DRAWING DRIVING FINDING FIXING FOLLOWING HELPING HIDING HOLDING KEEPING "
        "LEAVING LIFTING MOVING OPENING PAINTING PUSHING READING SELLING SENDING "
        "SHOWING TAKING TEACHING THROWING VISITING WASHING WATCHING"
    ).split(),
    "INTRANS": (
        "ARRIVED DANCED DISAPPEARED FELL LAUGHED RAN SANG SLEPT SMILED STOPPED SWAM "
        "WAITED WALKED WON WORKED"
    ).split(),
    "ADV": (
        "ALWAYS CAREFULLY EASILY NEVER OFTEN QUICKLY QUIETLY RARELY SLOWLY SOMETIMES "
        "SUDDENLY USUALLY"
    ).split(),
    "PLACE": ("BEHIND BESIDE INSIDE NEAR OUTSIDE UNDER ABOVE AROUND").split(),
    "TIME": [
        "TODAY",
        "TOMORROW",
        "YESTERDAY",
        "TONIGHT",
        "LAST WEEK",
        "NEXT YEAR",
        "THIS MORNING",
        "EVERY DAY",
        "ON MONDAY",
        "ON FRIDAY",
        "IN THE EVENING",
        "AFTER LUNCH",
        "BEFORE DINNER",
    ],
    "NUMBER": (
        "TWO THREE FOUR FIVE SIX SEVEN EIGHT NINE TEN TWELVE TWENTY FIFTY HUNDRED"
    ).split(),
    "DET": ("THE A THIS THAT MY YOUR HER HIS OUR THEIR").split(),
    "PRON": ("I YOU WE THEY SHE HE").split(),
    "PRONP": ("I YOU WE THEY").split(),
    "FEEL": ("THINK KNOW BELIEVE HOPE FEEL REMEMBER").split(),
}

_TEMPLATES: List[str] = [
    "DET ADJ NOUN INTRANS TIME",
    "NAME VERB_PAST DET ADJ NOUN",
    "NAME VERB_PAST DET NOUN PLACE THE NOUN",
    "PRONP ADV VERB DET NOUN",
    "PRONP FEEL THAT THE NOUN IS ADJ",
    "THE NOUN PLACE THE NOUN IS ADJ",
    "WHY DID NAME VERB THE NOUN",
    "WHERE IS THE ADJ NOUN",
    "PRONP WANT TO VERB THE NOUN TIME",
    "NAME AND NAME VERB_PAST NUMBER NOUN",
    "THERE ARE NUMBER ADJ NOUN PLACE THE NOUN",
    "DET NOUN WAS VERB_ING THE ADJ NOUN",
    "PLEASE VERB THE NOUN TO NAME",
    "CAN YOU VERB DET NOUN",
    "THE NOUN INTRANS ADV",
    "PRON WILL VERB THE NOUN TIME",
    "NAME SAID THE NOUN WAS TOO ADJ",
    "PRONP HAVE NEVER SEEN SUCH A ADJ NOUN",
    "DON'T VERB THE NOUN PLACE THE NOUN",
    "IT'S ADJ PLACE THE NOUN TIME",
    "NAME IS VERB_ING DET NOUN",
    "THE ADJ NOUN OF THE NOUN INTRANS",
]


class TemplateGrammar(AbsGrammar):
    """Template sentences over a vocabulary of a few hundred words.

    Args:
        max_templates: use only the first ``max_templates`` templates (fewer =
            easier); ``None`` uses all of them.
    """

    def __init__(self, max_templates: int = None):
        self.templates = _TEMPLATES[: max_templates or len(_TEMPLATES)]

    def sample(self, rng: np.random.Generator) -> List[str]:
        template = self.templates[int(rng.integers(len(self.templates)))]
        words: List[str] = []
        for tok in template.split():
            if tok in _LEX:
                choices = _LEX[tok]
                words.extend(choices[int(rng.integers(len(choices)))].split())
            else:
                words.append(tok)
        # "A" before a vowel-initial word reads better as "AN"
        for i in range(len(words) - 1):
            if words[i] == "A" and words[i + 1][0] in "AEIOU":
                words[i] = "AN"
        return words

    def vocabulary(self) -> List[str]:
        vocab = {"AN"}
        for template in self.templates:
            for tok in template.split():
                if tok in _LEX:
                    for entry in _LEX[tok]:
                        vocab.update(entry.split())
                else:
                    vocab.add(tok)
        return sorted(vocab)


GRAMMARS: Dict[str, Type[AbsGrammar]] = {
    "grid": GridGrammar,
    "template": TemplateGrammar,
}


def build_grammar(name: str) -> AbsGrammar:
    """Return the grammar registered under ``name`` (``grid`` or ``template``)."""
    try:
        return GRAMMARS[name]()
    except KeyError:
        raise ValueError(
            f"--grammar: unknown grammar {name!r}; choose from {sorted(GRAMMARS)}"
        ) from None
