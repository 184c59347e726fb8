<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Contract;

/**
 * Where recorded events wait to be sent: in the store, a table (Model\QueuedEvent); in tests, memory.
 * Plain PHP: no X-Cart dependency.
 */
interface Outbox
{
    /** Records an event body once per event id (a second add of the same id changes nothing). */
    public function add(string $eventId, string $type, string $body, int $now): void;

    /** @return array<int, array{row: int|string, event_id: string, body: string, attempts: int}> due now, oldest first */
    public function due(int $now, int $limit): array;

    public function markSent($row, int $status, int $now): void;

    public function markRetry($row, int $attempts, int $nextAttemptAt, string $error): void;

    public function markDead($row, ?int $status, string $error): void;
}
