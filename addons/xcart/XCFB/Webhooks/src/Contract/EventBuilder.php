<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Contract;

/**
 * Builds the contract's event: {"id", "type", "created_at", "store", "data"}, `data` being the entity in the
 * X-Cart 5.5 API output shape (the API's output DTOs, or arrays already in that shape).
 *
 * The id is derived from the change itself (store, type and the entity's data), never from a delivery: a retry
 * sends the same id, and recording the same change twice (two hooks firing for one save) gives the same id,
 * which the service answers 200 duplicate. Plain PHP: no X-Cart dependency.
 */
final class EventBuilder
{
    public const TYPES = [
        'order.created', 'order.updated', 'order.payment_status_changed', 'customer.created', 'customer.updated',
        'product.created', 'product.updated', 'product.deleted', 'payment.created',
    ];

    private string $store;

    public function __construct(string $store)
    {
        if (trim($store) === '') {
            throw new \InvalidArgumentException('store: a store id is required');
        }
        $this->store = $store;
    }

    /** @param object|array $entity an API output DTO or an array in the API output shape */
    public function build(string $type, $entity, ?\DateTimeInterface $at = null): array
    {
        if (!in_array($type, self::TYPES, true)) {
            throw new \InvalidArgumentException("type: '$type' is not one of " . implode(', ', self::TYPES));
        }
        $data = self::normalize($entity);
        if (!is_array($data) || !array_key_exists('id', $data)) {
            throw new \InvalidArgumentException("data: the $type entity must be an object with an id");
        }
        $at = $at ?? new \DateTimeImmutable('now');
        return [
            'id' => self::eventId($this->store, $type, $data),
            'type' => $type,
            'created_at' => (new \DateTimeImmutable('@' . $at->getTimestamp()))->format('Y-m-d\TH:i:s\Z'),
            'store' => $this->store,
            'data' => $data,
        ];
    }

    public static function eventId(string $store, string $type, array $data): string
    {
        return 'xc_' . substr(hash('sha256', $store . "\n" . $type . "\n" . self::encode($data)), 0, 40);
    }

    /** The body as posted (and as signed: sign exactly these bytes). */
    public static function encode(array $value): string
    {
        return json_encode($value, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION
            | JSON_THROW_ON_ERROR);
    }

    /**
     * DTOs to arrays of their public properties, dates as the API writes them (`2026-11-29T18:00:00+0000`).
     * An empty map stays `[]`, as the API serialises it (see xcart.md, "PHP's empty array").
     *
     * @return mixed
     */
    public static function normalize($value)
    {
        if ($value instanceof \DateTimeInterface) {
            return (new \DateTimeImmutable('@' . $value->getTimestamp()))->format('Y-m-d\TH:i:sO');
        }
        if ($value instanceof \JsonSerializable) {
            return self::normalize($value->jsonSerialize());
        }
        if ($value instanceof \Traversable) {
            $value = iterator_to_array($value);
        } elseif (is_object($value)) {
            $value = get_object_vars($value); // from outside the class: its public properties only
        }
        if (is_array($value)) {
            return array_map([self::class, 'normalize'], $value);
        }
        if (is_float($value) && !is_finite($value)) {
            throw new \InvalidArgumentException('data: NaN and infinity are not JSON numbers');
        }
        return $value;
    }
}
