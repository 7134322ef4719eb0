"""Classes whose methods are workflows and steps, for the class tests: imported by the test
process and by the child processes those tests SIGKILL (``kill_at_step``), so both have the
same configured instances, created at import, before ``DBOS.launch()``.

Each instance keeps in memory what its step bodies ran, so a test can tell which instance (and
which process) ran what.
"""

from __future__ import annotations

from dbos import DBOS, DBOSConfiguredInstance


@DBOS.dbos_class()
class Pricer(DBOSConfiguredInstance):
    """A configured instance per region; `rate` is its state, which no input carries."""

    def __init__(self, region: str, rate: int) -> None:
        self.rate = rate
        self.ran: list[str] = []
        super().__init__(config_name=region)

    @DBOS.step()
    def price(self, amount: int) -> int:
        self.ran.append(f"price {amount}")
        return amount * self.rate

    @DBOS.step()
    def receipt(self, total: int) -> str:
        self.ran.append(f"receipt {total}")
        return f"{self.config_name}:{total}"

    @DBOS.workflow()
    def checkout(self, amount: int) -> str:
        return self.receipt(self.price(amount))

    @DBOS.step()
    async def price_async(self, amount: int) -> int:
        self.ran.append(f"price_async {amount}")
        return amount * self.rate

    @DBOS.workflow()
    async def checkout_async(self, amount: int) -> str:
        total = await self.price_async(amount)
        return f"{self.config_name}:{total}"

    @classmethod
    @DBOS.step()
    def tag(cls, text: str) -> str:
        return f"{cls.__name__}/{text}"

    @classmethod
    @DBOS.workflow()
    def describe(cls, text: str) -> str:
        tagged = cls.tag(text)
        return cls.tag(tagged)

    @staticmethod
    @DBOS.step()
    def add(a: int, b: int) -> int:
        return a + b

    @staticmethod
    @DBOS.workflow()
    def total(a: int, b: int) -> int:
        return Pricer.add(a, b) * 10


@DBOS.dbos_class(class_name="ledger")
class Ledger(DBOSConfiguredInstance):
    """A class recorded under a name of its own choosing."""

    def __init__(self, name: str) -> None:
        self.entries: list[str] = []
        super().__init__(name)

    @DBOS.workflow()
    def post(self, entry: str) -> str:
        self.entries.append(entry)
        return f"{self.config_name}:{entry}"


north = Pricer("north", 2)
south = Pricer("south", 3)
books = Ledger("books")
