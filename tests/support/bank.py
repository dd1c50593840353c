"""A small banking domain used by facta's own tests: enough to exercise every guarantee.

Accounts are opened, credited and debited; a transfer changes two accounts in one unit of
work; a ``Journal`` (one per application) records what the event handlers saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from facta import (
    AggregateRoot,
    Command,
    CommandHandler,
    DomainError,
    DomainEvent,
    DomainEventHandler,
    UnitOfWork,
)


class InsufficientFunds(DomainError):
    """A debit larger than the balance was refused."""


class AccountEvent(DomainEvent):
    """Base class of every account event."""


class AccountOpened(AccountEvent):
    owner: str


class MoneyDeposited(AccountEvent):
    amount: int


class MoneyWithdrawn(AccountEvent):
    amount: int


class Account(AggregateRoot):
    owner: str
    balance: int = 0

    @classmethod
    def open(cls, account_id: str, owner: str) -> Account:
        account = cls(id=account_id, owner=owner)
        account.record(AccountOpened(owner=owner))
        return account

    def deposit(self, amount: int) -> None:
        self.balance += amount
        self.record(MoneyDeposited(amount=amount))

    def withdraw(self, amount: int) -> None:
        if amount > self.balance:
            raise InsufficientFunds(
                f"cannot withdraw {amount} from {self.id}: the balance is {self.balance}"
            )
        self.balance -= amount
        self.record(MoneyWithdrawn(amount=amount))


class OpenAccount(Command[str]):
    account_id: str
    owner: str


class Deposit(Command[int]):
    account_id: str
    amount: int


class Transfer(Command[None]):
    source: str
    target: str
    amount: int


@dataclass
class Journal:
    """What the event handlers of one application saw, in order."""

    entries: list[tuple[str, DomainEvent]] = field(default_factory=list)

    def of(self, handler: str) -> list[DomainEvent]:
        return [event for name, event in self.entries if name == handler]


class OpenAccountHandler(CommandHandler[OpenAccount, str]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.accounts = uow.repository(Account)

    async def handle(self, command: OpenAccount) -> str:
        self.accounts.add(Account.open(command.account_id, command.owner))
        return command.account_id


class DepositHandler(CommandHandler[Deposit, int]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.accounts = uow.repository(Account)

    async def handle(self, command: Deposit) -> int:
        account = await self.accounts.get(command.account_id)
        account.deposit(command.amount)
        return account.balance


class TransferHandler(CommandHandler[Transfer, None]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.accounts = uow.repository(Account)

    async def handle(self, command: Transfer) -> None:
        source = await self.accounts.get(command.source)
        target = await self.accounts.get(command.target)
        source.withdraw(command.amount)
        target.deposit(command.amount)


class AuditTrail(DomainEventHandler[AccountEvent]):
    """Sees every account event (declared for the base class)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def handle(self, event: AccountEvent) -> None:
        self.journal.entries.append(("audit", event))


class DepositNotifier(DomainEventHandler[MoneyDeposited]):
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def handle(self, event: MoneyDeposited) -> None:
        self.journal.entries.append(("notifier", event))


HANDLERS = (
    OpenAccountHandler,
    DepositHandler,
    TransferHandler,
    AuditTrail,
    DepositNotifier,
)
