"""Words and folder names that matter, in English and the common European languages.

Matching is case-insensitive and accent-insensitive (``Überweisung`` = ``uberweisung``), on word
boundaries, so ``ach`` does not match ``coach`` and ``pay`` alone is not a finance term.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache


@lru_cache(maxsize=8192)
def fold(value: str) -> str:
    """Casefolded, accents removed, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.replace("ł", "l").replace("ß", "ss").split())


FINANCE_TERMS: tuple[str, ...] = (
    # English
    "invoice", "invoices", "payment", "payments", "wire", "wire transfer", "bank", "banking", "bank details",
    "bank account", "ach", "remittance", "payroll", "paycheck", "paycheque", "pay slip", "payslip", "payslips",
    "direct deposit", "iban", "swift", "bic", "transfer", "w-2", "w2", "funds", "purchase order", "deposit",
    "account number", "routing number", "salary", "billing", "overdue", "past due", "statement",
    # German
    "rechnung", "rechnungen", "zahlung", "zahlungen", "uberweisung", "bankverbindung", "kontoverbindung",
    "gehalt", "lohn", "gehaltsabrechnung", "lohnabrechnung", "zahlungsavis", "mahnung", "kontonummer",
    # French
    "facture", "factures", "paiement", "virement", "rib", "coordonnees bancaires", "salaire", "fiche de paie",
    "bulletin de paie", "releve", "reglement",
    # Spanish
    "factura", "facturas", "pago", "pagos", "transferencia", "nomina", "cuenta bancaria", "datos bancarios",
    # Italian
    "fattura", "fatture", "pagamento", "bonifico", "stipendio", "busta paga", "coordinate bancarie",
    # Dutch
    "factuur", "facturen", "betaling", "overboeking", "salaris", "loonstrook", "bankgegevens", "rekeningnummer",
    # Portuguese
    "fatura", "faturas", "transferencia bancaria", "salario", "holerite", "recibo de vencimento",
    "dados bancarios", "boleto",
    # Polish
    "faktura", "faktury", "platnosc", "przelew", "wynagrodzenie", "pensja", "konto bankowe", "numer konta",
)

WARNING_TERMS: tuple[str, ...] = (
    # English
    "hacked", "hack", "hacker", "phish", "phishing", "suspicious", "malicious", "fake", "compromise",
    "compromised", "helpdesk", "help desk", "service desk", "do not click", "don't click", "do not open",
    "password", "security alert", "security notice", "unusual sign-in", "unusual sign in", "unusual activity",
    "mfa", "did you send", "not from me", "fraud", "fraudulent", "scam", "virus", "bec", "spoof", "spoofed",
    "verify your account", "account locked", "impersonation",
    # German
    "gehackt", "verdachtig", "betrug", "passwort", "kennwort", "sicherheitswarnung", "sicherheitshinweis",
    "nicht klicken", "nicht offnen", "kompromittiert", "ungewohnliche anmeldung", "gefalscht",
    # French
    "pirate", "hameconnage", "suspect", "frauduleux", "mot de passe", "alerte de securite", "ne pas cliquer",
    "ne pas ouvrir", "compromis", "arnaque", "connexion inhabituelle",
    # Spanish
    "hackeado", "pirateado", "sospechoso", "fraude", "contrasena", "alerta de seguridad", "no hagas clic",
    "comprometida", "comprometido", "estafa", "suplantacion",
    # Italian
    "hackerato", "sospetto", "truffa", "avviso di sicurezza", "non cliccare", "compromesso", "accesso insolito",
    # Dutch
    "verdacht", "oplichting", "wachtwoord", "beveiligingswaarschuwing", "niet klikken", "gecompromitteerd",
    "nep",
    # Portuguese
    "suspeito", "senha", "palavra-passe", "alerta de seguranca", "nao clique", "golpe", "comprometido",
    # Polish
    "zhakowany", "podejrzany", "oszustwo", "haslo", "alert bezpieczenstwa", "nie klikaj", "wyludzenie",
)

#: Sender names/addresses whose mail warns the user (security notices, help desk, bounces).
WARNING_SENDER_TERMS: tuple[str, ...] = (
    "security", "alert", "alerts", "helpdesk", "servicedesk", "service-desk", "it-support", "itsupport",
    "postmaster", "mailer-daemon", "microsoftexchange", "accountprotection", "account-security", "no-reply@microsoft",
)


class TermKind(StrEnum):
    FINANCE = "finance"
    WARNING = "warning"


def _pattern(terms: Iterable[str]) -> re.Pattern[str]:
    alternatives = sorted({fold(t) for t in terms}, key=len, reverse=True)
    return re.compile(r"(?<![\w])(?:" + "|".join(re.escape(a) for a in alternatives) + r")(?![\w])")


_PATTERNS = {TermKind.FINANCE: _pattern(FINANCE_TERMS), TermKind.WARNING: _pattern(WARNING_TERMS)}
_TERMS = {TermKind.FINANCE: {fold(t) for t in FINANCE_TERMS}, TermKind.WARNING: {fold(t) for t in WARNING_TERMS}}
_SENDER = re.compile("|".join(re.escape(fold(t)) for t in WARNING_SENDER_TERMS))


def matching_terms(word: str, kind: TermKind) -> list[str]:
    """The terms of ``kind`` a condition word targets.

    A rule condition is a substring: ``subjectContains: "hack"`` catches "hacked". So a word matches
    when it contains a term (on word boundaries) or, for words of 4+ letters, is a prefix of a term.
    """
    return list(_matching_terms(word, kind))


@lru_cache(maxsize=8192)
def _matching_terms(word: str, kind: TermKind) -> tuple[str, ...]:
    folded = fold(word)
    if not folded:
        return ()
    found = {m.group(0) for m in _PATTERNS[kind].finditer(folded)}
    if not found and len(folded) >= 4 and folded.isalpha():
        found.update(t for t in _TERMS[kind] if t.startswith(folded) and " " not in t)
    return tuple(sorted(found))


def warning_sender(value: str) -> bool:
    return bool(_SENDER.search(fold(value)))


def is_catch_all_word(word: str) -> bool:
    """A word that matches nearly every message: blank, one letter, a single vowel, punctuation."""
    folded = fold(word)
    return len(folded) <= 1 or not any(c.isalnum() for c in folded)


class FolderKind(StrEnum):
    """Folders where mail is out of the user's sight (the attacker's favourite destinations)."""

    RSS = "rss"
    NOTES = "notes"
    JUNK = "junk"
    DELETED = "deleted"
    ARCHIVE = "archive"
    CONVERSATION_HISTORY = "conversationHistory"


FOLDER_NAMES: dict[FolderKind, tuple[str, ...]] = {
    FolderKind.RSS: (
        "RSS Feeds", "RSS Subscriptions", "RSS-Feeds", "RSS-feeds", "RSS Feed", "Flux RSS", "Abonnements RSS",
        "Fuentes RSS", "Suscripciones RSS", "Feed RSS", "Sottoscrizioni RSS", "RSS-abonnementen", "Kanały RSS",
        "Subskrypcje RSS", "Feeds RSS", "Assinaturas RSS", "RSS-Abonnements", "RSS-abonnemang", "RSS-syötteet",
    ),
    FolderKind.NOTES: ("Notes", "Notizen", "Notas", "Note", "Notities", "Notatki", "Anteckningar"),
    FolderKind.JUNK: (
        "Junk Email", "Junk E-Mail", "Junk E-mail", "Junk-E-Mail", "Junk", "Spam", "Courrier indésirable",
        "Courriers indésirables", "Ongewenste e-mail", "Correo no deseado", "Posta indesiderata",
        "Lixo Eletrônico", "Email de Lixo", "Wiadomości-śmieci", "Skräppost", "Uønsket e-post", "Roskaposti",
    ),
    FolderKind.DELETED: (
        "Deleted Items", "Gelöschte Elemente", "Éléments supprimés", "Elementos eliminados", "Posta eliminata",
        "Verwijderde items", "Itens Excluídos", "Itens Eliminados", "Elementy usunięte", "Borttagna objekt",
        "Trash", "Bin",
    ),
    FolderKind.ARCHIVE: ("Archive", "Archiv", "Archives", "Archivo", "Archivio", "Archief", "Arquivo", "Archiwum",
                         "Arkiv"),
    FolderKind.CONVERSATION_HISTORY: (
        "Conversation History", "Unterhaltungsverlauf", "Historique des conversations",
        "Historial de conversaciones", "Cronologia conversazioni", "Gespreksgeschiedenis",
        "Histórico de Conversas", "Historial de conversaciones", "Historia konwersacji", "Konversationshistorik",
    ),
}

#: Graph well-known folder names mapped to the hiding kinds (RSS and Notes have none).
WELL_KNOWN: dict[str, FolderKind] = {
    "junkemail": FolderKind.JUNK,
    "deleteditems": FolderKind.DELETED,
    "archive": FolderKind.ARCHIVE,
    "conversationhistory": FolderKind.CONVERSATION_HISTORY,
}


def _folder_key(name: str) -> str:
    return re.sub(r"[\s\-_]+", "", fold(name))


_FOLDER_INDEX = {_folder_key(n): kind for kind, names in FOLDER_NAMES.items() for n in names}


@lru_cache(maxsize=4096)
def folder_kind(name: str | None, well_known: str | None = None) -> FolderKind | None:
    """The hiding kind of a folder by well-known name or (localised) display name, else ``None``."""
    if well_known and (kind := WELL_KNOWN.get(well_known.strip().lower())):
        return kind
    if not name:
        return None
    leaf = re.split(r"[\\/]", name.strip())[-1] if name.strip() else ""
    if leaf.lower() in WELL_KNOWN:
        return WELL_KNOWN[leaf.lower()]
    return _FOLDER_INDEX.get(_folder_key(leaf))
