"""Password hashing for operators.

Argon2id with the parameters OWASP recommends as a minimum (19 MiB, 2 passes, 1 lane):
Django's defaults (100 MiB, 8 lanes) cost every CLI command a noticeable pause on a counter
PC for no gain against the threat here (a stolen database of a few dozen operators).
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class PrepaidArgon2Hasher(Argon2PasswordHasher):
    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19456  # KiB
    parallelism = 1
