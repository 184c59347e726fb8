<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Contract;

/** An Outbox in memory: for the tests and for trying the sender without a store. */
final class MemoryOutbox implements Outbox
{
    /** @var array<int, array<string, mixed>> */
    public array $rows = [];

    public function add(string $eventId, string $type, string $body, int $now): void
    {
        foreach ($this->rows as $row) {
            if ($row['event_id'] === $eventId) {
                return;
            }
        }
        $this->rows[] = ['event_id' => $eventId, 'type' => $type, 'body' => $body, 'state' => 'queued',
                         'attempts' => 0, 'next_attempt_at' => $now, 'last_status' => null, 'last_error' => null];
    }

    public function due(int $now, int $limit): array
    {
        $due = [];
        foreach ($this->rows as $index => $row) {
            if ($row['state'] === 'queued' && $row['next_attempt_at'] <= $now && count($due) < $limit) {
                $due[] = ['row' => $index, 'event_id' => $row['event_id'], 'body' => $row['body'],
                          'attempts' => $row['attempts']];
            }
        }
        return $due;
    }

    public function markSent($row, int $status, int $now): void
    {
        $this->rows[$row] = ['state' => 'sent', 'last_status' => $status, 'attempts' => $this->rows[$row]['attempts'] + 1]
            + $this->rows[$row];
    }

    public function markRetry($row, int $attempts, int $nextAttemptAt, string $error): void
    {
        $this->rows[$row] = ['attempts' => $attempts, 'next_attempt_at' => $nextAttemptAt, 'last_error' => $error]
            + $this->rows[$row];
    }

    public function markDead($row, ?int $status, string $error): void
    {
        $this->rows[$row] = ['state' => 'dead', 'last_status' => $status, 'last_error' => $error,
                             'attempts' => $this->rows[$row]['attempts'] + 1] + $this->rows[$row];
    }
}
