/*
 * controllers.h: the reconcilers' table entries and the state each needs
 * (main.c wires them into the manager).
 */
#ifndef CFLUX_OPERATOR_CONTROLLERS_H
#define CFLUX_OPERATOR_CONTROLLERS_H

#include "manager.h"
#include "storage.h"

/* GitRepository (ctl_gitrepository.c): ctl_data() is a struct gitrepo_ctl. */
struct gitrepo_ctl {
	struct storage *storage; /* the artifact store */
	const char *tmp_root;    /* where checkouts are made ($TMPDIR or /tmp) */
};
extern const struct ctl_desc gitrepository_desc;

#endif
