"""Storage and security: the database, saved analyses, users, the audit trail and patient pseudonyms."""
