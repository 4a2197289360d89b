"""How many SMS segments a text takes, as operators bill them (GSM 03.38):
a text of the GSM 7-bit alphabet holds 160 characters in one SMS and 153
per part when split; any other character makes it Unicode (UCS-2): 70 in
one, 67 per part. The characters of the GSM extension table take two."""

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


def segments(text):
    """(encoding, length in characters as billed, number of segments)."""
    text = text or ""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        length = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        # UCS-2 counts UTF-16 code units: an emoji takes two
        length = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "Unicode"
    if not length:
        return encoding, 0, 0
    count = 1 if length <= single else -(-length // part)
    return encoding, length, count
