/* SPDX-License-Identifier: MIT
 *
 * Search folding: see textfold.h. Every folded character lies in the Arabic block U+0600-U+06FF,
 * whose UTF-8 form is two bytes with a lead byte 0xD8-0xDB, so the loop decodes only those
 * pairs and copies every other byte as it is: text that is not Arabic passes through untouched,
 * and no input, however malformed, can make it read past the end or write more than it read.
 */
#include "core/textfold.h"

long textfold_code_point(unsigned long cp)
{
    switch (cp) {
    case 0x0622: /* alef with madda above */
    case 0x0623: /* alef with hamza above */
    case 0x0625: /* alef with hamza below */
    case 0x0671: /* alef wasla */
        return 0x0627;
    case 0x0629: /* teh marbuta */
        return 0x0647;
    case 0x0649: /* alef maqsura */
        return 0x064A;
    case 0x0640: /* tatweel */
    case 0x0670: /* superscript alef */
        return -1;
    default:
        break;
    }
    if (cp >= 0x0660 && cp <= 0x0669)
        return (long)('0' + (cp - 0x0660));
    if (cp >= 0x06F0 && cp <= 0x06F9)
        return (long)('0' + (cp - 0x06F0));
    if ((cp >= 0x0610 && cp <= 0x061A) || (cp >= 0x064B && cp <= 0x065F) ||
        (cp >= 0x06D6 && cp <= 0x06ED))
        return -1; /* harakat, shadda, sukun, Quranic and honorific marks */
    return (long)cp;
}

size_t textfold_search(const char *in, size_t len, char *out)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *w = (unsigned char *)out;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0xD8 || c > 0xDB || i + 1 >= len || (s[i + 1] & 0xC0) != 0x80) {
            *w++ = c;
            i++;
            continue;
        }
        unsigned long cp = ((unsigned long)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
        long f = textfold_code_point(cp);
        i += 2;
        if (f < 0)
            continue;
        if (f < 0x80) {
            *w++ = (unsigned char)f;
        } else {
            *w++ = (unsigned char)(0xC0 | (f >> 6));
            *w++ = (unsigned char)(0x80 | (f & 0x3F));
        }
    }
    *w = '\0';
    return (size_t)(w - (unsigned char *)out);
}
