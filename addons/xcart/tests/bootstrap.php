<?php

declare(strict_types=1);

// The add-on's plain classes, loaded without X-Cart (its autoloader does this inside the store).
foreach (['Signer', 'EventBuilder', 'Sender', 'Outbox', 'MemoryOutbox', 'Delivery'] as $class) {
    require_once __DIR__ . "/../XCFB/Webhooks/src/Contract/$class.php";
}
