"""The languages Whisper knows, by ISO-639-1 code (plus `haw` and `yue`), which models know only English, and which
language a detection settles on when a deployment expects only some (STT_LANGUAGES)."""

from collections.abc import Sequence
from pathlib import PurePath

LANGUAGES: dict[str, str] = {
    "en": "english",
    "zh": "chinese",
    "de": "german",
    "es": "spanish",
    "ru": "russian",
    "ko": "korean",
    "fr": "french",
    "ja": "japanese",
    "pt": "portuguese",
    "tr": "turkish",
    "pl": "polish",
    "ca": "catalan",
    "nl": "dutch",
    "ar": "arabic",
    "sv": "swedish",
    "it": "italian",
    "id": "indonesian",
    "hi": "hindi",
    "fi": "finnish",
    "vi": "vietnamese",
    "he": "hebrew",
    "uk": "ukrainian",
    "el": "greek",
    "ms": "malay",
    "cs": "czech",
    "ro": "romanian",
    "da": "danish",
    "hu": "hungarian",
    "ta": "tamil",
    "no": "norwegian",
    "th": "thai",
    "ur": "urdu",
    "hr": "croatian",
    "bg": "bulgarian",
    "lt": "lithuanian",
    "la": "latin",
    "mi": "maori",
    "ml": "malayalam",
    "cy": "welsh",
    "sk": "slovak",
    "te": "telugu",
    "fa": "persian",
    "lv": "latvian",
    "bn": "bengali",
    "sr": "serbian",
    "az": "azerbaijani",
    "sl": "slovenian",
    "kn": "kannada",
    "et": "estonian",
    "mk": "macedonian",
    "br": "breton",
    "eu": "basque",
    "is": "icelandic",
    "hy": "armenian",
    "ne": "nepali",
    "mn": "mongolian",
    "bs": "bosnian",
    "kk": "kazakh",
    "sq": "albanian",
    "sw": "swahili",
    "gl": "galician",
    "mr": "marathi",
    "pa": "punjabi",
    "si": "sinhala",
    "km": "khmer",
    "sn": "shona",
    "yo": "yoruba",
    "so": "somali",
    "af": "afrikaans",
    "oc": "occitan",
    "ka": "georgian",
    "be": "belarusian",
    "tg": "tajik",
    "sd": "sindhi",
    "gu": "gujarati",
    "am": "amharic",
    "yi": "yiddish",
    "lo": "lao",
    "uz": "uzbek",
    "fo": "faroese",
    "ht": "haitian creole",
    "ps": "pashto",
    "tk": "turkmen",
    "nn": "nynorsk",
    "mt": "maltese",
    "sa": "sanskrit",
    "lb": "luxembourgish",
    "my": "myanmar",
    "bo": "tibetan",
    "tl": "tagalog",
    "mg": "malagasy",
    "as": "assamese",
    "tt": "tatar",
    "haw": "hawaiian",
    "ln": "lingala",
    "ha": "hausa",
    "ba": "bashkir",
    "jw": "javanese",
    "su": "sundanese",
    "yue": "cantonese",
}
"""Whisper's language codes and the names OpenAI's `verbose_json` reports them by (Whisper's own table)."""


def is_english_only(model: str) -> bool:
    """Whisper's `*.en` models (tiny.en, the bundled one, …) transcribe English only, by a name or a path."""
    return PurePath(model).name.lower().endswith(".en")


def language_name(code: str) -> str:
    """`english` for `en`; an unknown code stays as it is."""
    return LANGUAGES.get(code, code)


def deployment_languages(codes: Sequence[str]) -> tuple[str, ...]:
    """STT_LANGUAGES checked: Whisper's codes, in the order given (empty: any language)."""
    unknown = [code for code in codes if code not in LANGUAGES]
    if unknown:
        raise ValueError(f"STT_LANGUAGES: {', '.join(unknown)} not among Whisper's language codes (e.g. ko,en)")
    return tuple(dict.fromkeys(codes))


def likeliest(probabilities: Sequence[tuple[str, float]], allowed: Sequence[str]) -> tuple[str, float]:
    """The most probable language of `probabilities` (a detection's, every language's) among `allowed` (empty:
    any), with its probability as the detection gave it."""
    candidates = [(code, p) for code, p in probabilities if not allowed or code in allowed]
    if not candidates:  # the detection did not score an allowed language at all: take the first allowed
        return allowed[0], 0.0
    return max(candidates, key=lambda candidate: candidate[1])
