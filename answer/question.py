"""What a question asks for, and whether a sentence has it (English and Spanish).

`analyse` reads the question word ("who", "cuándo", "how many tons"...) into an answer type:
person, date, place, number (with the counted noun when there is one), or none (what, why, how,
which...). `has_type` tells whether a sentence holds an expression of that type: a name or a
role for people, a date or time, a place after a preposition, a number (quantifying the counted
noun). Small general lexicons and patterns; nothing here knows any particular story.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.text import fold

_WORD = re.compile(r"\w+(?:[.,]\d+)*", re.UNICODE)

_PERSON_NOUNS_EN = ("official minister reporter journalist person people spokes\\w* leader company group "
                    "organi[sz]ation office agency outlet newspaper paper union ministry department economist "
                    "analyst expert negotiator farmer politician lawmaker senator diplomat author writer bank "
                    "institution body authority executive chief director firm").split()
_PERSON_NOUNS_ES = ("funcionari[oa] ministr[oa] periodista persona portavoz vocer[oa] lider empresa grupo "
                    "organizacion oficina agencia medio periodico diario sindicato ministerio dependencia "
                    "secretaria economista analista expert[oa] negociador[a]? agricultor[a]? politic[oa] "
                    "legislador[a]? senador[a]? diplomatic[oa] autor[a]? banco institucion organismo autoridad "
                    "ejecutiv[oa] jefe director[a]? firma entidad").split()
# question word patterns -> answer type, on the folded question (accents off, lower case)
_TYPES = [
    ("number", re.compile(r"\b(?:how (?:many|much)|cuant[oa]s?|que cantidad|what (?:percentage|share|number|amount)|"
                          r"what (?:was|is|were) the (?:number|amount|total|death toll|toll|cost|price)|"
                          r"at what (?:speed|rate|price)|how (?:fast|far|long|old|big|large|high|tall|deep)|"
                          r"a que velocidad|que tan|cuanto tiempo|por cuanto|cual (?:es|fue|sera) (?:el|la) "
                          r"(?:cifra|numero|cantidad|monto|total|costo|coste|precio|velocidad))\b")),
    ("date", re.compile(r"\b(?:when|cuando|what (?:day|date|year|month|times?)|which (?:day|date|year|month)|"
                        r"(?:en )?que (?:dia|fecha|ano|mes|hora)|(?:a|hasta|desde) que hora|since when|"
                        r"desde cuando|hasta cuando|until when|by when|para cuando)\b")),
    ("place", re.compile(r"\b(?:where|donde|adonde|in which (?:city|country|town|place|state|region)|"
                         r"(?:en )?que (?:ciudad|pais|lugar|estado|region|localidad)|"
                         r"in what (?:city|country|place))\b")),
    ("person", re.compile(r"\b(?:who|whom|whose|quien(?:es)?|a quien|de quien|(?:which|what) (?:\w+ )?"
                          r"(?:" + "|".join(_PERSON_NOUNS_EN) + r")s?|(?:que|cual|cuales) (?:\w+ )?(?:"
                          + "|".join(_PERSON_NOUNS_ES) + r")(?:s|es)?)\b")),
    ("cause", re.compile(r"\b(?:what (?:caused|started|sparked|triggered)|what (?:was|is|were) the (?:cause|origin)s?|"
                         r"que (?:causo|provoco|origino|inicio|desato)|cual (?:fue|es) (?:la )?(?:causa|el origen)|"
                         r"(?:la|las) causas? de|the causes? of|el origen de)\b")),
]
# "which outlet / newspaper / reporter" is answered by an article's metadata as much as its text
_SOURCE_Q = re.compile(r"\b(?:which|what|que|cual) (?:news )?(?:outlet|newspaper|paper|media|agency|"
                       r"wire|reporter|journalist|medio|periodico|diario|agencia|periodista|cadena|"
                       r"publication|site|website|portal)s?\b")
# "how much will it cost", "¿cuánto costará?": an amount of money
_MONEY_Q = re.compile(r"\b(?:cost\w*|cuest\w*|cost(?:o|ara|aria|aron|ado)|price\w*|precio\w*|budget\w*|"
                      r"presupuest\w*|invest\w*|invert\w*|inversion\w*|spen[dt]\w*|gast\w*|paid|pay\w*|"
                      r"pag\w*|worth|vale|valor|fine|multa\w*|salar\w*|sueldo\w*|fund\w*|financ\w*)\b")
_MONEY = re.compile(r"(?:[$€£¥]|\b(?:us\$|usd|eur|euros?|dolares|dollars?|pesos?|libras|pounds|yuan|yenes|yen|"
                    r"reales|soles|bolivares|francos|francs|rupees|rupias)\b)")
_COUNT_NOUN = re.compile(r"\b(?:how many|cuant[oa]s)\s+((?:\w+\s*){1,3})")
_Q_STOP = {"the", "of", "were", "was", "are", "is", "did", "do", "does", "will", "have", "has", "had",
           "se", "han", "fueron", "hay", "habia", "son", "los", "las", "el", "la", "de", "more", "mas",
           "new", "nuevos", "nuevas", "a", "an", "other", "otros", "otras", "people"}

_NUMBER_WORDS = set(("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                     "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
                     "hundred hundreds thousand thousands million millions billion billions dozen dozens half "
                     "uno una dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince "
                     "dieciseis diecisiete dieciocho diecinueve veinte treinta cuarenta cincuenta sesenta setenta "
                     "ochenta noventa cien ciento cientos doscientos trescientos quinientos mil miles millon "
                     "millones billon billones docena docenas decenas centenares medio media "
                     "many several few numerous muchos muchas varios varias pocos pocas numerosos numerosas "
                     "cientos miles").split())
# words that measure rather than count: "N millones de dólares" counts the dollars
_MEASURES = set(("million millions billion billions thousand thousands hundred hundreds dozen dozens "
                 "mil miles millon millones billon billones cientos docenas decenas centenares "
                 "tons tonnes toneladas kilos kilograms kilogramos kg pounds libras liters litros "
                 "percent por ciento metros meters kilometers kilometros km").split())
# counted nouns whose two languages share no prefix
_PAIRS = [("people", "personas"), ("persons", "personas"), ("workers", "trabajadores"), ("dead", "muertos"),
          ("killed", "muertos"), ("deaths", "muertes"), ("injured", "heridos"), ("wounded", "heridos"),
          ("arrested", "detenidos"), ("arrests", "detenciones"), ("detainees", "detenidos"),
          ("troops", "tropas"), ("soldiers", "soldados"), ("children", "ninos"), ("women", "mujeres"),
          ("men", "hombres"), ("years", "anos"), ("days", "dias"), ("weeks", "semanas"), ("months", "meses"),
          ("hours", "horas"), ("tons", "toneladas"), ("dollars", "dolares"), ("times", "veces"),
          ("houses", "viviendas"), ("homes", "viviendas"), ("weapons", "armas"), ("guns", "armas"),
          ("jobs", "empleos"), ("votes", "votos"), ("seats", "escanos"), ("countries", "paises"),
          ("companies", "empresas"), ("flights", "vuelos"), ("officers", "agentes"), ("police", "policias"),
          ("students", "estudiantes"), ("doctors", "medicos"), ("migrants", "migrantes"),
          ("victims", "victimas"), ("boats", "embarcaciones"), ("ships", "buques"), ("trucks", "camiones"),
          ("cars", "coches"), ("drugs", "drogas"), ("pills", "pastillas"), ("kilos", "kilogramos"),
          ("miles", "millas"), ("meters", "metros"), ("stations", "estaciones"), ("trains", "trenes")]
# "how long / how far / how big / how old / how fast" are answered by a number of a unit
_LENGTH = set("km kms kilometres kilometers kilometros kilometre kilometer kilometro metres meters metros metre meter "
              "metro m cm centimetres centimeters centimetros mm miles mile millas milla feet foot ft pies pie "
              "inches inch pulgadas yards yardas leagues leguas".split())
_TIME = set("years year anos ano months month meses mes weeks week semanas semana days day dias dia hours hour "
            "horas hora minutes minute minutos minuto seconds second segundos segundo decades decadas "
            "centuries siglos h min".split())
_AREA = set("square cuadrados cuadradas cuadrado m2 km2 hectares hectareas ha acres acre".split())
_VOLUME = set("litres liters litros cubic cubicos m3 gallons galones barrels barriles tonnes tons toneladas".split())
_SPEED = set("mph kph knots nudos hour hora".split())
_MEASURE_QS = [
    (re.compile(r"\b(?:how (?:long|far)|que tan (?:largo|larga|lejos)|a que distancia|cuanto mide|cuanto (?:dura|duro))\b"),
     frozenset(_LENGTH | _TIME)),
    (re.compile(r"\b(?:how (?:tall|high|deep)|que tan (?:alto|alta|profundo|profunda)|que altura|que profundidad)\b"),
     frozenset(_LENGTH)),
    (re.compile(r"\b(?:how (?:big|large)|que tan (?:grande|extens[oa])|que (?:tamano|superficie|extension))\b"),
     frozenset(_AREA | _LENGTH | _VOLUME)),
    (re.compile(r"\b(?:how old|que edad|cuantos anos tiene)\b"), frozenset(_TIME | {"old", "edad"})),
    (re.compile(r"\b(?:how fast|at what speed|a que velocidad)\b"), frozenset(_SPEED)),
    (re.compile(r"\b(?:cuanto tiempo|how much time)\b"), frozenset(_TIME)),
]

_SHARE_WORDS = set(("most all half much large vast majority part parts portion share none little few "
                    "mayoria mayor parte partes mitad gran grandes amplia amplias amplio amplios buena "
                    "todo toda todos todas ninguno ninguna poco poca pocos pocas").split())

# words for one counted thing, in both languages
_GROUPS = [("police", "policemen", "officers", "agents", "policias", "agentes", "uniformados"),
           ("arrested", "arrests", "detained", "detainees", "detenidos", "detenciones", "arrestados",
            "arrestos"),
           ("dead", "killed", "deaths", "fatalities", "muertos", "muertes", "fallecidos"),
           ("homes", "houses", "dwellings", "viviendas", "casas", "hogares"),
           ("millimetres", "millimeters", "mm", "milimetros"), ("hectares", "hectareas", "ha"),
           ("times", "occasions", "veces", "ocasiones"),
           ("companies", "firms", "businesses", "empresas", "companias", "sociedades", "firmas")]
_SYNONYMS: dict[str, set[str]] = {}
for _a, _b in _PAIRS:
    _SYNONYMS.setdefault(_a, set()).add(_b)
    _SYNONYMS.setdefault(_b, set()).add(_a)
for _g in _GROUPS:
    for _a in _g:
        _SYNONYMS.setdefault(_a, set()).update(w for w in _g if w != _a)

_MONTHS = set(("january february march april may june july august september october november december "
               "jan feb mar apr jun jul aug sep sept oct nov dec enero febrero marzo abril mayo junio julio "
               "agosto septiembre setiembre octubre noviembre diciembre ene abr ago dic").split())
_DAYS = set(("monday tuesday wednesday thursday friday saturday sunday lunes martes miercoles jueves "
             "viernes sabado domingo").split())
_RELATIVE_DATE = re.compile(
    r"\b(?:today|yesterday|tomorrow|tonight|this (?:morning|afternoon|evening|week|month|year)|"
    r"(?:last|next|this) (?:week|month|year|weekend|spring|summer|autumn|fall|winter|quarter)|"
    r"hoy|ayer|manana|anoche|esta (?:manana|tarde|noche|semana)|este (?:mes|ano|fin de semana)|"
    r"(?:la|el) (?:semana|mes|ano) (?:pasad[oa]|proxim[oa]|que viene)|(?:la|el) proxim[oa] (?:semana|mes|ano)|"
    r"(?:days?|weeks?|months?|years?) (?:ago|later|earlier)|hace (?:\w+ )?(?:dias?|semanas?|meses|anos?)|"
    r"(?:in|en) (?:the )?(?:early|late|mid)|a (?:principios|finales|mediados) de|"
    r"(?:at|a las?) \d{1,2}(?:[:.]\d{2})?|\d{1,2}:\d{2}|o'clock|\d{1,2} ?(?:am|pm|a\.m\.|p\.m\.)|"
    r"(?:in|en|since|desde|until|hasta|by|for|para|de) (?:19|20)\d\d|\d{1,2}/\d{1,2}/\d{2,4}|(?:19|20)\d\d-\d\d-\d\d)\b")
_PERSON_ROLES = set(("minister president secretary spokesman spokeswoman spokesperson official officials "
                     "director chief head leader mayor governor senator ambassador chancellor commissioner "
                     "prosecutor judge general commander envoy adviser advisor negotiator union ministry "
                     "government department office agency police army company firm authorities said "
                     "ministro ministra presidente presidenta secretario secretaria portavoz vocero vocera "
                     "funcionario funcionaria funcionarios director directora jefe jefa lider alcalde alcaldesa "
                     "gobernador gobernadora senador senadora embajador embajadora canciller comisario fiscal "
                     "juez jueza general comandante enviado asesor negociador sindicato ministerio gobierno "
                     "departamento oficina agencia policia ejercito empresa autoridades dijo afirmo declaro "
                     "senalo indico aseguro explico informo congresista legislador diputado diputada").split())
_CAUSE = re.compile(r"\b(?:because|due to|caused by|owing to|as a result of|the cause|blamed|started by|sparked by|"
                    r"triggered by|set off by|arson|lightning|short circuit|negligence|porque|debido a|a causa de|"
                    r"causad[oa]s? por|provocad[oa]s? por|originad[oa]s? por|iniciad[oa]s? por|se origino|"
                    r"la causa|el origen|por culpa de|intencional|rayo|cortocircuito|negligencia)\b")
_CLOCK = re.compile(r"\b(?:\d{1,2}[:.]\d{2}|\d{1,2} ?(?:am|pm|a\.m|p\.m|h|hrs|horas)\b|o'clock|noon|midnight|"
                    r"mediodia|medianoche|(?:a|de) las (?:\d|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce)|"
                    r"(?:in the|this|por la|esta|de la) (?:morning|afternoon|evening|night|manana|tarde|noche))")
_CONDITION = re.compile(r"\b(?:when|whenever|once|if|after|before|during|cuando|siempre que|si|tras|despues de|"
                        r"antes de|durante|una vez que)\b")
# eras and spans a date can be given in: "a mediados del siglo XVIII", "hace 66 millones de años",
# "~11 600 BP", "in the 18th century", "44 a. C.", "los años 80", "the 1990s"
_ERA = re.compile(r"\b(?:siglos?|centur(?:y|ies)|milenios?|millennium|millennia|decadas?|decades?|"
                  r"\d+(?:st|nd|rd|th) century|\d[\d ]* ?\(?(?:bp|a\. ?c\.?|d\. ?c\.?|bc|bce|ad)|"
                  r"(?:19|20)?\d0s|anos (?:19|20)?\d0|"
                  r"hace (?:[\w,.]+ ){0,4}(?:dias?|semanas?|meses|anos?|siglos?)|"
                  r"(?:[\w,.]+ ){0,3}(?:days?|weeks?|months?|years?|centuries) ago|"
                  r"(?:a|al) (?:principios|finales|mediados|comienzos|fines) de(?:l)?|"
                  r"(?:early|late|mid)[- ](?:\d|\w+ century))\b")
_PLACE_PREPS = set("in at near from to into on between across outside inside en cerca desde hacia rumbo frente a "
                   "entre dentro fuera sobre junto por".split())


@dataclass
class Asked:
    """What a question asks for."""

    type: str = ""  # person, date, place, number or ""
    counted: list[str] = field(default_factory=list)  # "how many containers" -> ["containers"]
    of: list[str] = field(default_factory=list)  # "how many tonnes of beef" -> ["beef"]
    about_source: bool = False  # "which outlet / reporter / agency ..."
    # "When does immunodeficiency occur?": a general present, answered by a condition ("cuando
    # el sistema inmunitario...") as much as by a date
    condition: bool = False
    year: bool = False  # "in what year": a year or an era answers, "this year" does not
    clock: bool = False  # "at what time": a time of day answers ("a las 20:00", "at 8 p.m.", "at noon")
    share: bool = False  # "how much of": a number, or words of quantity ("most", "la mitad", "amplias zonas")
    units: frozenset = frozenset()  # "how long": a number of these units ("612 kilómetros") answers
    duration: bool = False  # "how long did it last": also "until...", or a date it ended


# Words that may stand before the question word of a clause: "And when...", "¿Y cuántos...?",
# "In what year...", "Desde cuándo...".
_LEAD = set(("and so then but or also now exactly roughly approximately in on at since until by for from to of "
             "y e o u pero entonces ahora tambien exactamente aproximadamente en desde hasta a de para por con").split())
_CLAUSE = re.compile(r"[,;:¿?¡!.()\n]+")


# English "when" asks only when a verb follows it ("When did...", "When will..."); "When many
# people are arrested, what..." is a clause of time, not a question about one.
_AUX = set(("did do does was were is are will would could can should shall may might must has have had "
            "exactly roughly approximately").split())


def _asks(clause: str, pattern: re.Pattern) -> bool:
    """Whether the clause (folded words) is asked with this question word: it leads the clause,
    after lead words only. "What happens when the immune system..." asks no date, "When did..." does."""
    m = pattern.search(clause)
    if not m or not all(w in _LEAD for w in clause[:m.start()].split()):
        return False
    if m.group(0) == "when":
        after = clause[m.end():].split()
        return not after or after[0] in _AUX
    return True


def analyse(question: str) -> Asked:
    # Spanish "cuando" without its accent and not opening a question is a conjunction: "Cuando se
    # detiene a mucha gente, ¿cuál es...?" asks no date ("¿cuando llega?" still does)
    folded = fold(re.sub(r"(?<![¿\w])cuando\b(?!\s*\?)", "mientras", question, flags=re.I) if "¿" in question
                  else question)
    q = " ".join(_WORD.findall(folded))
    asked = Asked(about_source=bool(_SOURCE_Q.search(q)))
    clauses = [" ".join(_WORD.findall(c)) for c in _CLAUSE.split(folded)]
    for name, pattern in _TYPES:  # the first type whose question word leads a clause
        if any(_asks(c, pattern) for c in clauses):
            asked.type = name
            break
    if asked.type == "date":
        asked.condition = bool(re.search(r"\bwhen (?:does|do|can|should)\b", q))
        asked.year = bool(re.search(r"\b(?:what|which|que) (?:year|ano)\b", q))
        asked.clock = bool(re.search(r"\b(?:at )?(?:what|which) times? (?:of (?:the )?day|did|does|do|is|was|will|are|were)\b|\bat what times?\b|\b(?:a|hasta|desde) que hora|\bque horas?\b", q))
    if asked.type == "number":
        for pattern, units in _MEASURE_QS:
            if pattern.search(q):
                asked.units = units
                asked.duration = bool(re.search(r"\b(?:for how long|how long (?:did|does|do|will|would|has|have|had|can|could)|"
                                                r"cuanto tiempo|cuanto (?:dura|duro|durara))\b", q))
                break
        m = _COUNT_NOUN.search(q)
        if m:
            raw = m.group(1).split()
            words = [w for w in raw if w not in _Q_STOP and not w.isdigit()]
            if raw[0] in _Q_STOP or raw[0] in ("personas", "gente"):
                # "how many (people) were arrested": the participle names what is counted when
                # its other words are known ("detenidos"); "how many people are affected" counts
                # people, which any noun of persons may do
                words = [w for w in words if w in _SYNONYMS][:1]
            asked.counted = words[:1]
            m2 = re.search(r"\b(?:how many|cuant[oa]s)\s+" + re.escape(words[0]) + r"\s+(?:of|de)\s+(\w+)", q) \
                if words else None
            if m2 and m2.group(1) not in _Q_STOP:
                asked.of = [m2.group(1)]
        elif _MONEY_Q.search(q) and re.search(r"\b(?:how much|cuanto|cuanta|que precio|what price)\b", q):
            asked.counted = ["$money"]
        # "how much of it has been left undeveloped?": a share, often given in words ("amplias zonas")
        asked.share = bool(re.search(r"\b(?:how much of|what (?:part|share|proportion|portion) of|"
                                     r"que (?:parte|proporcion|porcion) de|cuanto de)\b", q))
    return asked


def _stem(word: str) -> str:
    return word[:4] if len(word) >= 4 else word


def has_type(sentence: str, asked: Asked, *, same_language: bool = True) -> bool:
    """Whether the sentence holds an expression of the type the question asks for. Across
    languages the counted noun is not looked for ("points" is "puntos"): any number will do."""
    if not asked.type:
        return True
    if asked.type == "number":
        # across languages the counted noun is looked for only when its translation is known
        # ("arrested" / "detenidos"): "points" may be "puntos", which no table here holds
        known = same_language or asked.counted == ["$money"] or any(c in _SYNONYMS for c in asked.counted)
        if asked.share and _SHARE_WORDS & set(_WORD.findall(fold(sentence))):
            return True
        if asked.units:  # "how long did it last": "until the end of the parliament" answers too
            return has_measure(sentence, asked.units) or asked.duration and (
                has_date(sentence) or bool(re.search(r"\b(?:hasta|until|till)\b", fold(sentence))))
        return has_number(sentence, asked.counted if known else [], bare=not asked.counted)
    if asked.type == "date" and asked.clock:
        return bool(_CLOCK.search(fold(sentence)))
    if asked.type == "date" and asked.year:
        return bool(re.search(r"\b(?:1\d\d\d|20\d\d)\b", sentence) or _ERA.search(fold(sentence)))
    if asked.type == "date":
        return has_date(sentence) or asked.condition and bool(_CONDITION.search(fold(sentence)))
    if asked.type == "place":
        return has_place(sentence)
    if asked.type == "cause":
        return bool(_CAUSE.search(fold(sentence)))
    return has_person(sentence)


def _is_number(word: str) -> bool:
    return any(ch.isdigit() for ch in word) or word in _NUMBER_WORDS


def has_number(sentence: str, counted: list[str] | None = None, *, bare: bool = True) -> bool:
    """A number; with a counted noun, a number that counts it ("60 additional crane operators",
    "1.400 millones de dólares"), stopping at "of/de" ("dos terminales de contenedores" counts
    terminals). A year ("2026") alone is not a quantity. Without `bare`, a percentage or a sum
    of money does not count (a question asked how many of something whose word is not known)."""
    if counted == ["$money"]:
        return bool(_MONEY.search(fold(sentence))) and any(ch.isdigit() for ch in sentence) or \
            bool(_MONEY.search(fold(sentence)) and set(_WORD.findall(fold(sentence))) & _NUMBER_WORDS)
    words = _WORD.findall(fold(sentence))
    if "%" in sentence and any(ch.isdigit() for ch in sentence):
        if not counted and bare or any(_stem(c) in ("perc", "porc", "%") for c in counted or []):
            return True
        sentence = re.sub(r"\d+(?:[.,]\d+)?\s*%", " ", sentence)
        words = _WORD.findall(fold(sentence))
    targets = set()
    for c in counted or []:
        targets.add(_stem(c))
        targets.update(_stem(s) for s in _SYNONYMS.get(c, ()))
    for i, w in enumerate(words):
        if not _is_number(w):
            continue
        if re.fullmatch(r"1\d\d\d|20\d\d", w) and not targets:
            continue  # a year is not a quantity
        if i > 0 and words[i - 1] in _MONTHS or words[i + 1:i + 2] and words[i + 1] in _MONTHS or \
                words[i + 1:i + 3] and words[i + 1] == "de" and words[i + 2:i + 3] and words[i + 2] in _MONTHS:
            continue  # nor a day of a date ("March 3", "3 de marzo")
        if not targets:
            if not bare and words[i + 1:i + 2] and (words[i + 1] in ("por", "percent", "per") or
                                                    _MONEY.match(words[i + 1])):
                continue
            return True
        if i > 0 and _stem(words[i - 1]) in targets:  # "en derribos (118)", "containers: 3,000"
            return True
        for nxt in words[i + 1:i + 5]:
            if _stem(nxt) in targets:
                return True
            if nxt in ("de", "of", "del") and words[i + 1] not in _MEASURES and not _is_number(words[i + 1]):
                break
    return False


def has_measure(sentence: str, units: frozenset) -> bool:
    """A number of one of these units, within three words ("612 kilómetros", "36 metros
    cuadrados", "39 años", "4 min 51 s")."""
    words = _WORD.findall(fold(sentence))
    return any(_is_number(w) and any(u in units for u in words[i + 1:i + 4]) for i, w in enumerate(words))


def has_date(sentence: str) -> bool:
    f = fold(sentence)
    words = set(_WORD.findall(f))
    if words & _MONTHS or words & _DAYS:
        return True
    if re.search(r"\b(?:1[0-9]\d\d|20\d\d)\b", f):
        return True
    if re.search(r"\b\d+\s*(?:min|minutes?|minutos?|s|seconds?|segundos?|h|hours?|horas?)\b", f):
        return True  # a time on a clock: "4 min 51 s"
    return bool(_RELATIVE_DATE.search(f) or _ERA.search(f))


def _names(sentence: str) -> list[str]:
    """Runs of capitalised words not at the sentence start ("Héctor Valdebenito", "Reuters")."""
    tokens = re.findall(r"[\w'’-]+|[^\w\s]", sentence)
    runs, current = [], []
    for i, t in enumerate(tokens):
        if t[:1].isupper() and i > 0 and tokens[i - 1] not in (".", "“", '"', "«", "¿", "¡"):
            current.append(t)
        elif current and fold(t) in ("de", "del", "la", "van", "von", "da", "dos") and tokens[i + 1:i + 2] and \
                tokens[i + 1][:1].isupper():
            current.append(t)
        else:
            if current:
                runs.append(" ".join(current))
            current = []
    if current:
        runs.append(" ".join(current))
    return runs


# people named by what they do: "un abogado", "los paleoclimatólogos", "economists", "a lawyer"
_AGENT = re.compile(r"\b(?:\w{3,}(?:olog[oa]s?|ologists?|ograf[oa]s?|ographers?|istas?|ists?|ian|ians)|"
                    r"abogad[oa]s?|lawyers?|attorneys?|cientific[oa]s?|scientists?|medic[oa]s?|doctors?|"
                    r"profesor(?:a|es|as)?|professors?|teachers?|maestr[oa]s?|investigador(?:a|es|as)?|"
                    r"researchers?|ingenier[oa]s?|engineers?|soldados?|soldiers?|obrer[oa]s?|workers?|"
                    r"trabajador(?:a|es|as)?|ciudadan[oa]s?|citizens?|residentes?|residents?|vecinos?|"
                    r"estudiantes?|students?|reyes?|reinas?|kings?|queens?|emperador(?:es)?|emperors?|"
                    r"papas?|popes?|obispos?|bishops?|monjes?|monks?|tribunal(?:es)?|courts?|"
                    r"parlamentos?|parliaments?|congreso|congress|consejos?|councils?|comisi[oó]n|commission|"
                    r"comit[eé]s?|committees?|partidos?|party|parties)\b")
_NOT_AGENT = {"lista", "listas", "vista", "vistas", "revista", "revistas", "entrevista", "entrevistas",
              "conquista", "conquistas", "pista", "pistas", "exist", "exists", "insist", "insists", "consist",
              "consists", "assist", "assists", "resist", "resists", "persist", "persists", "list", "lists",
              "mist", "twist", "twists", "christian", "asian", "italian"}


def has_person(sentence: str) -> bool:
    """A name, or a role/organisation word (who: "the union president", "el ministerio"), or
    people named by what they do ("un abogado", "los paleoclimatólogos")."""
    if _names(sentence):
        return True
    words = set(_WORD.findall(fold(sentence)))
    singular = {w[:-2] if w.endswith("es") else w[:-1] if w.endswith("s") else w for w in words}
    if (words | singular) & _PERSON_ROLES:
        return True
    return any(m.group(0) not in _NOT_AGENT for m in _AGENT.finditer(fold(sentence)))


def has_place(sentence: str) -> bool:
    """A capitalised name after a preposition ("in Washington", "en la Exposición de Londres")."""
    tokens = re.findall(r"\w+", sentence)
    for i, t in enumerate(tokens[1:], 1):
        before = fold(tokens[i - 1])
        if before in _ARTICLES and i >= 2:
            before = fold(tokens[i - 2])
        if t[:1].isupper() and before in _PLACE_PREPS:
            return True
    return False


_ARTICLES = {"the", "a", "an", "el", "la", "los", "las", "un", "una"}


def not_stated_reason(asked: Asked, language: str) -> str:
    """ "The articles discuss this but don't say when." in the question's language."""
    counted = " ".join(asked.counted)
    if counted == "$money":
        return ("Los artículos tratan el tema, pero no dicen cuánto cuesta." if language == "es"
                else "The articles discuss this but don't say how much it costs.")
    if language == "es":
        what = {"date": "cuándo", "place": "dónde", "person": "quién", "cause": "qué lo causó",
                "number": f"cuántos {counted}".strip() if counted else "la cifra"}[asked.type]
        return f"Los artículos tratan el tema, pero no dicen {what}."
    what = {"date": "when", "place": "where", "person": "who", "cause": "what caused it",
            "number": f"how many {counted}".strip() if counted else "the figure"}[asked.type]
    return f"The articles discuss this but don't say {what}."
