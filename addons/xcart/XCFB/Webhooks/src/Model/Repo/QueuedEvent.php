<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Model\Repo;

use XCFB\Webhooks\Contract\Outbox;

/**
 * X-Cart glue (UNTESTED against a real store): the outbox table as Contract\Outbox, in plain SQL through
 * Doctrine's connection, so that recording an event is one INSERT beside whatever the store is saving
 * (inside its transaction when there is one) and never flushes the store's unit of work.
 */
class QueuedEvent extends \XLite\Model\Repo\ARepo implements Outbox
{
    public function add(string $eventId, string $type, string $body, int $now): void
    {
        $this->sql(
            "INSERT IGNORE INTO {$this->table()} (event_id, type, body, state, attempts, next_attempt_at, created_at)"
            . " VALUES (?, ?, ?, 'queued', 0, ?, ?)",
            [$eventId, $type, $body, $now, $now]
        );
    }

    public function due(int $now, int $limit): array
    {
        $rows = $this->connection()->fetchAllAssociative(
            "SELECT id, event_id, body, attempts FROM {$this->table()}"
            . " WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY id LIMIT " . max(1, $limit),
            [$now]
        );
        return array_map(static fn (array $row): array => ['row' => (int) $row['id'], 'event_id' => $row['event_id'],
            'body' => $row['body'], 'attempts' => (int) $row['attempts']], $rows);
    }

    public function markSent($row, int $status, int $now): void
    {
        $this->sql("UPDATE {$this->table()} SET state = 'sent', attempts = attempts + 1, last_status = ?,"
            . ' last_error = NULL WHERE id = ?', [$status, $row]);
    }

    public function markRetry($row, int $attempts, int $nextAttemptAt, string $error): void
    {
        $this->sql("UPDATE {$this->table()} SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
            [$attempts, $nextAttemptAt, substr($error, 0, 255), $row]);
    }

    public function markDead($row, ?int $status, string $error): void
    {
        $this->sql("UPDATE {$this->table()} SET state = 'dead', attempts = attempts + 1, last_status = ?,"
            . ' last_error = ? WHERE id = ?', [$status, substr($error, 0, 255), $row]);
    }

    /** Dead events back in the queue, after a person fixed the cause (URL, secret): how many. */
    public function requeueDead(int $now): int
    {
        return $this->sql("UPDATE {$this->table()} SET state = 'queued', attempts = 0, next_attempt_at = ?"
            . " WHERE state = 'dead'", [$now]);
    }

    /** Sent events older than `$days` days are deleted (the service deduplicates for 7 days). */
    public function purgeSent(int $now, int $days = 30): int
    {
        return $this->sql("DELETE FROM {$this->table()} WHERE state = 'sent' AND created_at < ?",
            [$now - $days * 86400]);
    }

    private function table(): string
    {
        return $this->getClassMetadata()->getTableName(); // with the store's table prefix (xc_)
    }

    private function connection(): \Doctrine\DBAL\Connection
    {
        return $this->getEntityManager()->getConnection();
    }

    private function sql(string $statement, array $parameters): int
    {
        return (int) $this->connection()->executeStatement($statement, $parameters);
    }
}
