<?php

declare(strict_types=1);

namespace XCFB\Webhooks\Logic;

use Doctrine\ORM\Event\LifecycleEventArgs;
use XLite\Model\Address;
use XLite\Model\Product;
use XLite\Model\Profile;

/**
 * X-Cart glue (UNTESTED against a real store): products and customer profiles created, updated or deleted,
 * from Doctrine's lifecycle events. A deleted product is recorded before it is removed (its data is the
 * product as it was). Profiles copied into an order (the order's snapshot) and administrators are not customers.
 */
class EntityListener
{
    private Recorder $recorder;

    public function __construct(Recorder $recorder)
    {
        $this->recorder = $recorder;
    }

    public function postPersist(LifecycleEventArgs $args): void
    {
        $this->changed($args->getObject(), 'created');
    }

    public function postUpdate(LifecycleEventArgs $args): void
    {
        $this->changed($args->getObject(), 'updated');
    }

    public function preRemove(LifecycleEventArgs $args): void
    {
        $entity = $args->getObject();
        if ($entity instanceof Product) {
            $this->recorder->product('product.deleted', $entity);
        }
    }

    private function changed(object $entity, string $how): void
    {
        if ($entity instanceof Product) {
            $this->recorder->product("product.$how", $entity);
        } elseif ($entity instanceof Profile && $this->isCustomer($entity)) {
            $this->recorder->profile("customer.$how", $entity);
        } elseif ($entity instanceof Address && $entity->getProfile() && $this->isCustomer($entity->getProfile())) {
            $this->recorder->profile('customer.updated', $entity->getProfile()); // names and phones live on addresses
        }
    }

    private function isCustomer(Profile $profile): bool
    {
        return !$profile->getOrder() && !$profile->isAdmin();
    }
}
