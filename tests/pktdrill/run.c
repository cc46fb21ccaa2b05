#include "pd.h"
#include <stdio.h>
enum pd_verdict
pd_run_script(const struct pd_script *s, const struct pd_run_opts *o, char why[PD_ERR_LEN])
{
    (void)o;
    snprintf(why, PD_ERR_LEN, "%s: runner not built yet", s->path);
    return PD_SKIP;
}
