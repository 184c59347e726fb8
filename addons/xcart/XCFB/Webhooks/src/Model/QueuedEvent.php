<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Model;

use Doctrine\ORM\Mapping as ORM;

/**
 * X-Cart glue (UNTESTED against a real store): the outbox table (xc_xcfb_webhook_events). One row per event
 * id; `state` is queued, sent or dead. Dead rows are kept until a person requeues them
 * (`php bin/console xcfb:webhooks:send --requeue-dead`).
 *
 * @ORM\Entity
 * @ORM\Table (name="xcfb_webhook_events",
 *     uniqueConstraints={@ORM\UniqueConstraint (name="event_id", columns={"event_id"})},
 *     indexes={@ORM\Index (name="due", columns={"state", "next_attempt_at"})}
 * )
 */
class QueuedEvent extends \XLite\Model\AEntity
{
    /**
     * @ORM\Id
     * @ORM\GeneratedValue (strategy="AUTO")
     * @ORM\Column (type="integer", options={"unsigned": true})
     */
    protected $id;

    /** @ORM\Column (type="string", length=64) */
    protected $event_id;

    /** @ORM\Column (type="string", length=64) */
    protected $type;

    /** @ORM\Column (type="text") the body as it is posted and signed, byte for byte */
    protected $body;

    /** @ORM\Column (type="string", length=8) */
    protected $state = 'queued';

    /** @ORM\Column (type="integer") */
    protected $attempts = 0;

    /** @ORM\Column (type="integer") */
    protected $next_attempt_at = 0;

    /** @ORM\Column (type="integer", nullable=true) */
    protected $last_status;

    /** @ORM\Column (type="string", length=255, nullable=true) */
    protected $last_error;

    /** @ORM\Column (type="integer") */
    protected $created_at = 0;
}
